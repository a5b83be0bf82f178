package companion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"text/tabwriter"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/ekcert"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/journal"
)

// enrollFromHelp is the part of `enroll --help` about --from.
const enrollFromHelp = `
--from FILE enrolls many devices: JSON lines, each what 'oob-agent identity
--format json' prints (EK certificate included; "deviceId" and "tags" may be
added), or CSV with the columns registrationId,endorsementKey,ekCertificate,
deviceId,tags (a header line optional, the last three may be empty, tags as
KEY=VALUE;KEY=VALUE, the EK and certificate in base64). Every row is checked
first; if any is bad, each is reported by its line number and nothing is sent.
Then the devices are created in DPS's bulk requests with the rules of one
enroll (same key again: already enrolled; another key: a conflict, never
overwritten; --replace is refused), each outcome written to the journal, and one
line per row printed (--format json: JSON lines). --require-ek-cert --tpm-roots
DIR refuses a row whose EK is not certified by a TPM maker whose root (and
intermediates) DIR holds, PEM or DER files.
Exit status 1 when a row is bad or a device failed (running the same file again
is safe), 4 when a registration ID is enrolled with another key.
`

// enrollFromRow is one row's result, the JSON line `enroll --from --format json` prints.
type enrollFromRow struct {
	Line           int            `json:"line"`
	RegistrationID string         `json:"registrationId"`
	Outcome        enroll.Outcome `json:"outcome"`
	Error          string         `json:"error,omitempty"`
}

func (o *EnrollOptions) checkFrom() error {
	switch {
	case o.Replace:
		return cli.Usagef("--replace is not for --from: enroll a device whose key changed on its own, with --replace")
	case o.Settings.DeviceID != "":
		return cli.Usagef("--device-id is not for --from: give each row's device ID in the file")
	case o.RequireEKCert && o.TPMRoots == "":
		return cli.Usagef("--require-ek-cert needs --tpm-roots DIR, the TPM makers' root and intermediate certificates")
	case o.TPMRoots != "" && !o.RequireEKCert:
		return cli.Usagef("--tpm-roots goes with --require-ek-cert")
	}
	return nil
}

func enrollFromRun(ctx context.Context, opts *EnrollOptions) error {
	base, err := opts.Settings.settings()
	if err != nil {
		return err
	}
	var bundle *ekcert.Bundle
	if opts.RequireEKCert {
		if bundle, err = ekcert.LoadBundle(opts.TPMRoots); err != nil {
			return err
		}
	}
	rows, bad, err := readRowsFile(opts.From)
	if err != nil {
		return err
	}
	items := make([]enroll.Item, 0, len(rows))
	var good []enrollRow
	for _, row := range rows {
		s := base
		s.DeviceID = row.DeviceID
		if len(row.Tags) > 0 {
			s.Tags = maps.Clone(base.Tags)
			if s.Tags == nil {
				s.Tags = map[string]string{}
			}
			maps.Copy(s.Tags, row.Tags)
		}
		if err := s.Validate(); err != nil {
			bad = append(bad, rowError{row.Line, err})
			continue
		}
		if bundle != nil {
			if err := certified(bundle, row); err != nil {
				bad = append(bad, rowError{row.Line, err})
				continue
			}
		}
		good = append(good, row)
		items = append(items, enroll.Item{ID: row.ID, Settings: s})
	}
	if len(bad) > 0 {
		return badRowsError(opts.IO.ErrOut, opts.From, bad, len(bad)+len(rows), "nothing was enrolled")
	}
	j, err := openJournal(opts.Journal)
	if err != nil {
		return err
	}
	defer j.Close()
	c, ctx, cancel, err := opts.Service.client(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var journalErr error
	done := 0
	settled := func(results []enroll.ItemResult, indexes []int) {
		batch := make([]journal.SentEnrollment, len(indexes))
		for k, i := range indexes {
			r := results[i]
			batch[k] = journal.SentEnrollment{Device: journal.DeviceOf(items[i].ID.Identity()), Settings: items[i].Settings,
				Outcome: enroll.OutcomeOf(r.Result, r.Err), Err: r.Err}
		}
		if err := j.RecordAttempts(batch); err != nil && journalErr == nil {
			journalErr = err
		}
		done += len(indexes)
		if opts.IO.ErrTTY {
			fmt.Fprintf(opts.IO.ErrOut, "\renrolled %d of %d", done, len(items))
		}
	}
	results := enroll.EnrollMany(ctx, c, items, settled)
	if opts.IO.ErrTTY {
		fmt.Fprintln(opts.IO.ErrOut)
	}
	if journalErr != nil {
		journalErr = fmt.Errorf("writing the journal %s: %w; the outcomes above are DPS's", j.Path(), journalErr)
	}
	return reportFrom(opts, good, results, journalErr)
}

// certified checks that a row's EK certificate chains to the trust bundle.
func certified(b *ekcert.Bundle, row enrollRow) error {
	if row.EKCert == nil {
		return errors.New("no EK certificate, and --require-ek-cert asks for one")
	}
	c, err := ekcert.Parse(row.EKCert)
	if err != nil {
		return err
	}
	_, err = b.Verify(c, time.Time{})
	return err
}

// reportFrom prints each row's outcome; the error is the worst outcome's.
func reportFrom(opts *EnrollOptions, rows []enrollRow, results []enroll.ItemResult, journalErr error) error {
	w := opts.IO.Out
	enc := json.NewEncoder(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if opts.Format.Value != cli.FormatJSON {
		fmt.Fprintln(tw, "LINE\tREGISTRATION ID\tOUTCOME\tDETAIL")
	}
	var conflicts, failures int
	for i, r := range results {
		outcome := enroll.OutcomeOf(r.Result, r.Err)
		switch outcome {
		case enroll.Conflict:
			conflicts++
		case enroll.Failed:
			failures++
		}
		row := enrollFromRow{Line: rows[i].Line, RegistrationID: rows[i].ID.RegistrationID(), Outcome: outcome}
		if r.Err != nil {
			row.Error = r.Err.Error()
		}
		if opts.Format.Value == cli.FormatJSON {
			if err := enc.Encode(row); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", row.Line, row.RegistrationID, row.Outcome, row.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case journalErr != nil:
		return journalErr
	case failures > 0:
		return fmt.Errorf("%d of %d devices failed (listed above); run the same file again: what was enrolled is reported as already enrolled", failures, len(results))
	case conflicts > 0:
		return &cli.ConflictError{Err: fmt.Errorf("%d of %d registration IDs are enrolled with another key and were left as they are", conflicts, len(results))}
	}
	return nil
}

// openJournal opens (creating) the journal at path, the default one when empty.
func openJournal(path string) (*journal.Journal, error) {
	if path == "" {
		var err error
		if path, err = journal.DefaultPath(); err != nil {
			return nil, err
		}
	}
	return journal.Open(path)
}

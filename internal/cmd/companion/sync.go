package companion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/scan"
)

// SyncOptions are the inputs of `companion sync`.
type SyncOptions struct {
	IO      *cli.IOStreams
	Service ServiceFlags
	Format  *cli.FormatFlag
	Journal string
}

// NewCmdSync returns `companion sync`. runF replaces the run function in tests.
func NewCmdSync(ios *cli.IOStreams, runF func(context.Context, *SyncOptions) error) *cobra.Command {
	opts := &SyncOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "sync [--journal FILE]",
		Short: "Send the enrollments queued in the journal while DPS was unreachable",
		Long: `Send the enrollments that a scan queued in the journal because DPS was unreachable
or kept throttling, each with the settings it was scanned with, as companion enroll
would: a device already enrolled with the same key is reported and left as it is, and
one enrolled under its registration ID with another key is a conflict, recorded and
not retried, unless the scan that queued it was run with --replace: then it is
replaced. Each outcome is written to the journal before it is shown, so running
sync again, or after an interruption, sends nothing twice.

An enrollment that still cannot be sent stays queued (exit status 1); a conflict
exits with status 4. --format json prints one object per enrollment:
{"registrationId": …, "outcome": …, "error": …, "enrollment": {…}}.
` + serviceHelp,
		Example: `  export DPS_CONNECTION_STRING='HostName=…;SharedAccessKeyName=…;SharedAccessKey=…'
  companion sync
  companion sync --journal /srv/line4/journal.db --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return syncRun(cmd.Context(), opts)
		},
	}
	journalFlag(cmd.Flags(), &opts.Journal)
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	opts.Service.register(cmd.Flags())
	return cmd
}

// syncJSON is the stable JSON shape of one line of `sync --format json`.
type syncJSON struct {
	RegistrationID string                       `json:"registrationId"`
	Outcome        enroll.Outcome               `json:"outcome"`
	Error          string                       `json:"error,omitempty"`
	Enrollment     *dpsapi.IndividualEnrollment `json:"enrollment,omitempty"`
}

func syncRun(ctx context.Context, opts *SyncOptions) error {
	j, path, err := openExistingJournal(opts.Journal)
	if err != nil {
		return err
	}
	if j == nil {
		fmt.Fprintf(opts.IO.ErrOut, "Nothing to send: there is no journal at %s.\n", path)
		return nil
	}
	defer j.Close()
	pending, err := j.Pending()
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "Nothing to send: no enrollment is queued in %s.\n", path)
		return nil
	}
	c, ctx, cancel, err := opts.Service.client(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	counts := map[enroll.Outcome]int{}
	sum, err := scan.Sync(ctx, j, c, func(ev scan.Event) error {
		// Sync recorded it before handing it over: what is shown as done is in the journal.
		counts[ev.Outcome]++
		return printSent(opts, ev.Device.RegistrationID, ev.Outcome, ev.Enrollment, timeoutHint(ev.Err, opts.Service.Timeout))
	})
	if err != nil {
		return err
	}
	counts[enroll.Failed] = sum.Queued // those not tried are still queued too
	return syncSummary(opts.IO, counts)
}

// printSent reports one queued enrollment's outcome.
func printSent(opts *SyncOptions, id string, outcome enroll.Outcome, enrollment *dpsapi.IndividualEnrollment, err error) error {
	if opts.Format.Value == cli.FormatJSON {
		line := syncJSON{RegistrationID: id, Outcome: outcome}
		if err != nil {
			line.Error = err.Error()
		}
		line.Enrollment = enrollment
		return json.NewEncoder(opts.IO.Out).Encode(line)
	}
	switch outcome {
	case enroll.Created:
		fmt.Fprintf(opts.IO.Out, "Enrolled %s.\n", id)
	case enroll.AlreadyEnrolled:
		fmt.Fprintf(opts.IO.Out, "Already enrolled: %s, with this key. Nothing was changed.\n", id)
	case enroll.Conflict:
		fmt.Fprintf(opts.IO.Out, "Conflict, not retried: %v\n", err)
	case enroll.Failed:
		fmt.Fprintf(opts.IO.Out, "Not sent, still queued: %s: %v\n", id, err)
	default:
		fmt.Fprintf(opts.IO.Out, "%s: %s.\n", id, outcome)
	}
	return nil
}

// syncSummary says what sync did, and turns failures and conflicts into the exit status.
func syncSummary(ios *cli.IOStreams, counts map[enroll.Outcome]int) error {
	fmt.Fprintf(ios.ErrOut, "Sent: %d created, %d already enrolled, %d conflicts; %d still queued.\n",
		counts[enroll.Created], counts[enroll.AlreadyEnrolled], counts[enroll.Conflict], counts[enroll.Failed])
	switch {
	case counts[enroll.Failed] > 0:
		return fmt.Errorf("%d enrollments could not be sent and stay queued: check the network and credentials, then run companion sync again", counts[enroll.Failed])
	case counts[enroll.Conflict] > 0:
		return &cli.ConflictError{Err: errors.New("some registration IDs are enrolled with another key (see above); nothing was changed for them")}
	}
	return nil
}

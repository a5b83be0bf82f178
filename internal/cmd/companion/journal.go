package companion

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/journal"
)

// journalFlag is --journal, shared by the commands that read or write the journal.
func journalFlag(fs *pflag.FlagSet, path *string) {
	fs.StringVar(path, "journal", "", "the journal file (default: $XDG_STATE_HOME/oob/"+journal.FileName+", else ~/.local/state/oob/"+journal.FileName+")")
}

// openExistingJournal opens the journal at path (the default one when empty). A journal that
// does not exist is not created: the journal returned is nil, with the path looked at.
func openExistingJournal(path string) (j *journal.Journal, resolved string, err error) {
	if path == "" {
		if path, err = journal.DefaultPath(); err != nil {
			return nil, "", err
		}
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	j, err = journal.Open(path)
	return j, path, err
}

// NewCmdJournal returns `companion journal` and its subcommands.
func NewCmdJournal(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "Read the production record of scanned devices and enrollments",
		Long: `The journal is the companion's production record: every device scanned and every
enrollment attempt, written to disk before it is shown as done, and the enrollments
queued while DPS was unreachable or throttling (sent by companion sync).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(NewCmdJournalExport(ios, nil))
	return cmd
}

// JournalExportOptions are the inputs of `companion journal export`.
type JournalExportOptions struct {
	IO      *cli.IOStreams
	Journal string
	Format  *cli.FormatFlag
}

// NewCmdJournalExport returns `companion journal export`. runF replaces the run function in tests.
func NewCmdJournalExport(ios *cli.IOStreams, runF func(context.Context, *JournalExportOptions) error) *cobra.Command {
	opts := &JournalExportOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatCSV, cli.FormatJSON)}
	opts.Format.Value = cli.FormatCSV
	cmd := &cobra.Command{
		Use:   "export [--format csv|json] [--journal FILE]",
		Short: "Write every journal record, oldest first, as CSV or JSON lines",
		Long: `Write every record of the journal to standard output, oldest first: devices seen
(registration ID, EK, label, where and in which frame), enrollments attempted,
queued and sent, with their outcome (created, already-enrolled, replaced, updated,
conflict, failed) and error.

--format csv (the default) writes one row per record under a header, for
spreadsheets; --format json writes one JSON object per line, for scripts.
A journal that does not exist is an error (exit status 3).`,
		Example: `  companion journal export > line4.csv
  companion journal export --format json --journal /srv/line4/journal.db | jq 'select(.kind=="attempt")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return journalExportRun(cmd.Context(), opts)
		},
	}
	journalFlag(cmd.Flags(), &opts.Journal)
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

func journalExportRun(ctx context.Context, opts *JournalExportOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j, path, err := openExistingJournal(opts.Journal)
	if err != nil {
		return err
	}
	if j == nil {
		return &cli.NotFoundError{Err: fmt.Errorf("no journal at %s: nothing has been scanned with it yet (or give --journal FILE)", path)}
	}
	defer j.Close()
	return j.Export(opts.IO.Out, journal.Format(opts.Format.Value))
}

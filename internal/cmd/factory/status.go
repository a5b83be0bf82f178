package factory

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/records"
)

// StatusOptions are the inputs of `oob-factory status`.
type StatusOptions struct {
	IO     *cli.IOStreams
	Data   DataFlags
	Format *cli.FormatFlag
}

// NewCmdStatus returns `oob-factory status`. runF replaces the run function in tests.
func NewCmdStatus(ios *cli.IOStreams, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the boards, the enrollments waiting for DPS, and failures",
		Long: `Show every board recorded (state certified, pre-enrolled or failed), the
enrollments waiting to be sent to DPS, and the ones that failed with DPS's reason.
--format json prints {"boards": […], "pending": […], "failed": […]}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

// statusJSON is the stable JSON shape of `status --format json`.
type statusJSON struct {
	Boards  []records.Board      `json:"boards"`
	Pending []records.Enrollment `json:"pending"`
	Failed  []records.Enrollment `json:"failed"`
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	s := statusJSON{Boards: []records.Board{}, Pending: []records.Enrollment{}, Failed: []records.Enrollment{}}
	boards, err := store.Boards(ctx)
	if err != nil {
		return err
	}
	pending, err := store.Enrollments(ctx, records.OutboxPending)
	if err != nil {
		return err
	}
	failed, err := store.Enrollments(ctx, records.OutboxFailed)
	if err != nil {
		return err
	}
	s.Boards = append(s.Boards, boards...)
	s.Pending = append(s.Pending, pending...)
	s.Failed = append(s.Failed, failed...)
	if opts.Format.Value == cli.FormatJSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GUID\tSTATE\tSTATION\tLINE\tBATCH\tISSUED\tCUSTOMER")
	for _, b := range s.Boards {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.GUID, b.State, b.Station, dash(b.Line), dash(b.Batch), b.IssuedAt.Format(time.DateTime), dash(b.Customer))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "\n%d boards, %d enrollments waiting for DPS, %d failed\n", len(s.Boards), len(s.Pending), len(s.Failed))
	for _, e := range s.Pending {
		if e.LastError != "" {
			fmt.Fprintf(opts.IO.Out, "waiting  %s  after %d attempts: %s\n", e.GUID, e.Attempts, e.LastError)
		}
	}
	for _, e := range s.Failed {
		fmt.Fprintf(opts.IO.Out, "FAILED   %s: %s\n", e.GUID, e.LastError)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

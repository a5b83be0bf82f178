package companion

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// NewCmdEnrollment returns `companion enrollment` and its subcommands.
func NewCmdEnrollment(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "enrollment",
		Short: "List, show, enable, disable and delete DPS individual enrollments",
		Long: `Manage the DPS individual enrollments of devices, by registration ID.
` + serviceHelp,
	}
	cmd.AddCommand(newCmdEnrollmentList(ios), newCmdEnrollmentShow(ios),
		newCmdEnrollmentStatus(ios, true), newCmdEnrollmentStatus(ios, false), newCmdEnrollmentDelete(ios))
	return cmd
}

func newCmdEnrollmentList(ios *cli.IOStreams) *cobra.Command {
	var pageSize int
	var s *serviceCmd
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every individual enrollment",
		Long: `List every individual enrollment, fetching page after page until the last. A table
for people; --format json prints one enrollment object per line, as DPS returns it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pageSize < 1 || pageSize > 10000 {
				return cli.Usagef("--page-size must be from 1 to 10000")
			}
			return s.list(cmd.Context(), pageSize)
		},
	}
	cmd.Flags().IntVar(&pageSize, "page-size", dps.DefaultPageSize, "enrollments fetched per request")
	s = newServiceCmd(ios, cmd)
	return cmd
}

func (s *serviceCmd) list(ctx context.Context, pageSize int) error {
	c, ctx, cancel, err := s.service.client(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var table *enrollmentTable
	if !s.json() {
		table = newEnrollmentTable(s.io.Out)
	}
	enc := json.NewEncoder(s.io.Out)
	n := 0
	for e, err := range c.QueryEnrollments(ctx, "*", pageSize) {
		if err != nil {
			if table != nil {
				table.flush()
			}
			return timeoutHint(fmt.Errorf("after %d enrollment(s): %w", n, err), s.service.Timeout)
		}
		n++
		if table == nil {
			if err := enc.Encode(&e); err != nil {
				return err
			}
			continue
		}
		table.add(&e)
		if s.io.ErrTTY && n%pageSize == 0 {
			fmt.Fprintf(s.io.ErrOut, "\rfetched %d enrollments…", n)
		}
	}
	if table == nil {
		return nil
	}
	if s.io.ErrTTY && n >= pageSize {
		fmt.Fprint(s.io.ErrOut, "\r\x1b[K")
	}
	if n == 0 {
		fmt.Fprintln(s.io.Out, "No individual enrollments.")
		return nil
	}
	return table.flush()
}

func newCmdEnrollmentShow(ios *cli.IOStreams) *cobra.Command {
	var s *serviceCmd
	cmd := &cobra.Command{
		Use:   "show REGISTRATION-ID...",
		Short: "Show enrollments in full",
		Long: `Show each enrollment: device ID, status, attestation, hub, initial twin, the device's
registration, times and ETag. Exit status 3 when an enrollment does not exist.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			first := true
			return s.eachID(cmd.Context(), ids, func(ctx context.Context, c *dps.Client, id string) error {
				e, err := c.GetEnrollment(ctx, id)
				if err != nil {
					return err
				}
				return s.printOne(e, &first)
			})
		},
	}
	s = newServiceCmd(ios, cmd)
	return cmd
}

// printOne prints an enrollment: JSON on a line of its own, or fields with a blank line between.
func (s *serviceCmd) printOne(e *dpsapi.IndividualEnrollment, first *bool) error {
	if s.json() {
		return json.NewEncoder(s.io.Out).Encode(e)
	}
	if !*first {
		fmt.Fprintln(s.io.Out)
	}
	*first = false
	return printEnrollment(s.io.Out, e)
}

func newCmdEnrollmentStatus(ios *cli.IOStreams, enable bool) *cobra.Command {
	verb, short := "disable", "Disable enrollments: their devices cannot register until enabled"
	if enable {
		verb, short = "enable", "Enable enrollments, so their devices can register"
	}
	var s *serviceCmd
	cmd := &cobra.Command{
		Use:   verb + " REGISTRATION-ID...",
		Short: short,
		Long: short + `.
Everything else in the enrollment is kept. One already ` + verb + `d is left as it is.
A device that has already registered keeps its hub identity; disabling the enrollment
stops it registering again, not its connection to the hub.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			first := true
			return s.eachID(cmd.Context(), ids, func(ctx context.Context, c *dps.Client, id string) error {
				e, err := c.SetEnrollmentStatus(ctx, id, enable)
				if err != nil {
					return err
				}
				if s.json() {
					return s.printOne(e, &first)
				}
				fmt.Fprintf(s.io.Out, "%s: %s\n", id, status(e))
				return nil
			})
		},
	}
	s = newServiceCmd(ios, cmd)
	return cmd
}

func newCmdEnrollmentDelete(ios *cli.IOStreams) *cobra.Command {
	var ifMatch string
	var s *serviceCmd
	cmd := &cobra.Command{
		Use:   "delete REGISTRATION-ID...",
		Short: "Delete enrollments",
		Long: `Delete enrollments. A device that has already registered keeps its IoT Hub identity:
delete it in the hub as well to cut it off. With --if-match the enrollment is deleted
only if its ETag is still the one given (one registration ID only). Exit status 3
when an enrollment does not exist.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			if ifMatch != "" && len(ids) > 1 {
				return cli.Usagef("--if-match applies to one registration ID")
			}
			return s.eachID(cmd.Context(), ids, func(ctx context.Context, c *dps.Client, id string) error {
				if err := c.DeleteEnrollment(ctx, id, ifMatch); err != nil {
					return err
				}
				return s.deleted(id)
			})
		},
	}
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "delete only if the record's ETag is this one")
	s = newServiceCmd(ios, cmd)
	return cmd
}

// deleted reports one deleted record.
func (s *serviceCmd) deleted(id string) error {
	if s.json() {
		return json.NewEncoder(s.io.Out).Encode(struct {
			RegistrationID string `json:"registrationId"`
			Deleted        bool   `json:"deleted"`
		}{id, true})
	}
	_, err := fmt.Fprintf(s.io.Out, "%s: deleted\n", id)
	return err
}

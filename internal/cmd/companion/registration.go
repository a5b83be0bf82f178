package companion

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// NewCmdRegistration returns `companion registration` and its subcommands.
func NewCmdRegistration(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registration",
		Short: "Show and delete devices' DPS registration states",
		Long: `A registration state is DPS's record of a device's registration: the hub it was
assigned to, its device ID, and the outcome. Deleting it lets the device register
afresh; the enrollment stays.
` + serviceHelp,
	}
	cmd.AddCommand(newCmdRegistrationShow(ios), newCmdRegistrationDelete(ios))
	return cmd
}

func newCmdRegistrationShow(ios *cli.IOStreams) *cobra.Command {
	var s *serviceCmd
	cmd := &cobra.Command{
		Use:   "show REGISTRATION-ID...",
		Short: "Show devices' registration states",
		Long:  `Show each device's registration state. Exit status 3 when a device has none.`,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			first := true
			return s.eachID(cmd.Context(), ids, func(ctx context.Context, c *dps.Client, id string) error {
				r, err := c.GetRegistrationState(ctx, id)
				if err != nil {
					return err
				}
				if s.json() {
					return json.NewEncoder(s.io.Out).Encode(r)
				}
				if !first {
					fmt.Fprintln(s.io.Out)
				}
				first = false
				return printRegistration(s.io, r)
			})
		},
	}
	s = newServiceCmd(ios, cmd)
	return cmd
}

func printRegistration(ios *cli.IOStreams, r *dpsapi.DeviceRegistrationState) error {
	tw := tabwriter.NewWriter(ios.Out, 0, 0, 2, ' ', 0)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "  %s:\t%s\n", name, value)
		}
	}
	field("Registration ID", r.RegistrationID)
	field("Status", string(r.Status))
	field("Substatus", string(r.Substatus))
	field("Assigned hub", r.AssignedHub)
	field("Device ID", r.DeviceID)
	if r.ErrorCode != 0 {
		field("Error", fmt.Sprintf("%d: %s", r.ErrorCode, r.ErrorMessage))
	}
	field("Created", when(r.CreatedDateTimeUTC))
	field("Updated", when(r.LastUpdatedDateTimeUTC))
	field("ETag", r.ETag)
	return tw.Flush()
}

func newCmdRegistrationDelete(ios *cli.IOStreams) *cobra.Command {
	var ifMatch string
	var s *serviceCmd
	cmd := &cobra.Command{
		Use:   "delete REGISTRATION-ID...",
		Short: "Delete devices' registration states, so they register afresh",
		Long: `Delete each device's registration state. The enrollment and the device's IoT Hub
identity stay. Exit status 3 when a device has none.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			if ifMatch != "" && len(ids) > 1 {
				return cli.Usagef("--if-match applies to one registration ID")
			}
			return s.eachID(cmd.Context(), ids, func(ctx context.Context, c *dps.Client, id string) error {
				if err := c.DeleteRegistrationState(ctx, id, ifMatch); err != nil {
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

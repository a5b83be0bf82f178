// Package companion is the companion command line: the technician's tool that reads device
// identity codes and manages their DPS enrollments.
package companion

import (
	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
)

// NewRootCmd returns the companion command with its subcommands.
func NewRootCmd(ios *cli.IOStreams, version string) *cobra.Command {
	root := &cobra.Command{
		Use:   "companion",
		Short: "Read devices' TPM identity codes and enroll them in Azure DPS",
		Long: `companion is the technician's tool. It reads the QR codes that oob-agent shows on
each device's screen, checks the identity they carry (EK structure and template,
registration ID recomputed), and creates the device's DPS individual enrollment.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cli.UsageError{Err: err} })
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.AddCommand(NewCmdDecode(ios, nil))
	root.AddCommand(NewCmdEnroll(ios, nil))
	root.AddCommand(NewCmdEnrollment(ios))
	root.AddCommand(NewCmdRegistration(ios))
	return root
}

// Package companion is the companion command line: the technician's tool that reads device
// identity codes and manages their DPS enrollments.
package companion

import (
	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
)

// rootLong is the program's help.
const rootLong = `companion is the technician's tool. It reads the QR codes that oob-agent shows on
each device's screen, checks the identity they carry (EK structure and template,
registration ID recomputed), and creates the device's DPS individual enrollment.`

// NewRootCmd returns the companion command with its subcommands.
func NewRootCmd(ios *cli.IOStreams, version string) *cobra.Command {
	root := cli.NewRoot(ios, "companion", "Read devices' TPM identity codes and enroll them in Azure DPS", rootLong, version)
	root.AddCommand(NewCmdDecode(ios, nil))
	root.AddCommand(NewCmdDoctor(ios, nil))
	root.AddCommand(NewCmdEnroll(ios, nil))
	root.AddCommand(NewCmdEnrollment(ios))
	root.AddCommand(NewCmdRegistration(ios))
	root.AddCommand(NewCmdJournal(ios))
	root.AddCommand(NewCmdScan(ios, nil))
	root.AddCommand(NewCmdSync(ios, nil))
	return root
}

// Package agent is the oob-agent command line: the device's first-boot program.
package agent

import (
	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
)

// rootLong is the program's help.
const rootLong = `oob-agent runs on the device at first boot. It reads the TPM's endorsement key (EK),
derives the Azure DPS registration ID, and shows both as a QR code that a technician's
companion scans to create the device's DPS enrollment. At the factory, certify gets the
board's X.509 certificate from oob-factory for a key kept in the TPM.

The TPM is /dev/tpmrm0 unless --tpm says otherwise (tcp://HOST:PORT for swtpm).
Hierarchy passwords, when the TPM has them, come from the environment
(OOB_ENDORSEMENT_AUTH, OOB_OWNER_AUTH) or from 0600 files
(--endorsement-auth-file, --owner-auth-file), never from the command line.`

// NewRootCmd returns the oob-agent command with its subcommands.
func NewRootCmd(ios *cli.IOStreams, version string) *cobra.Command {
	root := cli.NewRoot(ios, "oob-agent", "Show this device's TPM identity as a QR code and onboard it into Azure IoT Hub", rootLong, version)
	root.AddCommand(NewCmdIdentity(ios, nil))
	root.AddCommand(NewCmdShow(ios, nil))
	root.AddCommand(NewCmdRegister(ios, nil))
	root.AddCommand(NewCmdCertify(ios, nil))
	root.AddCommand(NewCmdRun(ios, nil))
	root.AddCommand(NewCmdDone(ios))
	root.AddCommand(NewCmdFinalize(ios))
	root.AddCommand(NewCmdDoctor(ios))
	return root
}

// Command oob-agent is the device's first-boot program: it shows the TPM identity as a QR code
// and onboards the device into Azure IoT Hub through DPS.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/agent"
)

var version = "dev"

func main() {
	os.Exit(cli.Main(func(ios *cli.IOStreams) *cobra.Command { return agent.NewRootCmd(ios, version) }))
}

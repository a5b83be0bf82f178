// Command companion is the technician's tool: it reads device identity QR codes and manages
// their Azure DPS enrollments.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/companion"
)

var version = "dev"

func main() {
	os.Exit(cli.Main(func(ios *cli.IOStreams) *cobra.Command { return companion.NewRootCmd(ios, version) }))
}

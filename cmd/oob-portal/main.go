// Command oob-portal is the activation portal: customers' staff sign in and activate the boards
// shipped to their organisation, which enables each board's DPS enrollment with its metadata and
// hub.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/portal"
)

var version = "dev"

func main() {
	os.Exit(cli.Main(func(ios *cli.IOStreams) *cobra.Command { return portal.NewRootCmd(ios, version) }))
}

// Command oob-factory is the factory server: it certifies each board under its hardware GUID and
// pre-enrolls it in Azure DPS, disabled, until its customer activates it.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/factory"
)

var version = "dev"

func main() {
	os.Exit(cli.Main(func(ios *cli.IOStreams) *cobra.Command { return factory.NewRootCmd(ios, version) }))
}

// Package portal is the oob-portal command line: the activation portal where a machine maker's
// staff activate the boards shipped to their organisation.
package portal

import (
	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
)

const rootLong = `oob-portal is the activation portal. The staff of each customer organisation (the
factory's customers) sign in, see the boards shipped to them, and activate each one from
its label's URL: the metadata they enter goes into the board's DPS enrollment, with its
IoT hub, and the enrollment is enabled.

It shares the factory's database (--data DIR for SQLite, or --database/--database-file
for PostgreSQL, as oob-factory) and reaches DPS as the companion does.`

// NewRootCmd returns the oob-portal command with its subcommands.
func NewRootCmd(ios *cli.IOStreams, version string) *cobra.Command {
	root := cli.NewRoot(ios, "oob-portal", "Let customers activate the boards shipped to them", rootLong, version)
	root.AddCommand(NewCmdServe(ios, nil))
	root.AddCommand(NewCmdUser(ios))
	root.AddCommand(NewCmdToken(ios))
	return root
}

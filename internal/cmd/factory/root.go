// Package factory is the oob-factory command line: the factory server that certifies each board
// under its hardware GUID and pre-enrolls it in DPS, disabled, until a customer activates it.
package factory

import (
	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
)

const rootLong = `oob-factory is the factory's server. It keeps a CA (oob-factory ca), certifies each
board under its hardware GUID over EST (oob-factory serve) or makes a board's key and
certificate itself (oob-factory board issue), records every board in its database, and
pre-enrolls each one in Azure DPS with its certificate, disabled, until the customer
activates it.

State lives in --data DIR (the CA, and the SQLite database unless --database names a
PostgreSQL one).`

// NewRootCmd returns the oob-factory command with its subcommands.
func NewRootCmd(ios *cli.IOStreams, version string) *cobra.Command {
	root := cli.NewRoot(ios, "oob-factory", "Certify boards and pre-enroll them in Azure DPS", rootLong, version)
	root.AddCommand(NewCmdCA(ios))
	root.AddCommand(NewCmdServe(ios, nil))
	root.AddCommand(NewCmdStation(ios))
	root.AddCommand(NewCmdBoard(ios))
	root.AddCommand(NewCmdStatus(ios, nil))
	root.AddCommand(NewCmdCustomer(ios))
	root.AddCommand(NewCmdShip(ios, nil))
	root.AddCommand(NewCmdLabel(ios, nil))
	return root
}

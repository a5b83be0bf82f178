package factory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
)

// NewCmdCustomerHub returns `oob-factory customer hub`.
func NewCmdCustomerHub(ios *cli.IOStreams, runF func(context.Context, *CustomerHubOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hub",
		Short: "Choose the IoT hubs a customer's boards may be activated into",
		Long: `A customer's users activate their boards in the portal (oob-portal) into one of
the IoT hubs allowed here; with none allowed, the portal activates nothing for them.`,
	}
	for _, op := range []struct{ use, short string }{
		{"add CUSTOMER HOSTNAME", "Allow a hub for a customer's boards"},
		{"remove CUSTOMER HOSTNAME", "Stop allowing a hub (boards activated into it keep it)"},
		{"list CUSTOMER", "List the hubs allowed for a customer"},
	} {
		cmd.AddCommand(newCmdCustomerHubOp(ios, op.use, op.short, runF))
	}
	return cmd
}

// CustomerHubOptions are the inputs of `oob-factory customer hub add|remove|list`.
type CustomerHubOptions struct {
	IO       *cli.IOStreams
	Data     DataFlags
	Format   *cli.FormatFlag
	Op       string // add, remove or list
	Customer string
	Hostname string
}

func newCmdCustomerHubOp(ios *cli.IOStreams, use, short string, runF func(context.Context, *CustomerHubOptions) error) *cobra.Command {
	op := strings.Fields(use)[0]
	opts := &CustomerHubOptions{IO: ios, Op: op, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	nargs := 2
	if op == "list" {
		nargs = 1
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Args:    cobra.ExactArgs(nargs),
		Example: "  oob-factory customer hub " + op + " acme" + map[bool]string{true: "", false: " acme-hub.azure-devices.net"}[op == "list"],
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Customer = strings.TrimSpace(args[0])
			if opts.Customer == "" {
				return cli.Usagef("the customer's name is empty")
			}
			if nargs == 2 {
				opts.Hostname = strings.ToLower(strings.TrimSpace(args[1]))
				if err := activation.CheckHostName(opts.Hostname); err != nil {
					return cli.Usagef("hub %q: %v", args[1], err)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return customerHubRun(cmd.Context(), opts)
		},
	}
	if op == "list" {
		cmd.Long = "List the IoT hubs allowed for a customer's boards, one a line; --format json prints\n{\"customer\": NAME, \"hubs\": [HOSTNAME…]}."
		cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	}
	opts.Data.register(cmd.Flags())
	return cmd
}

// customerHubsJSON is the stable JSON shape of `customer hub list --format json`.
type customerHubsJSON struct {
	Customer string   `json:"customer"`
	Hubs     []string `json:"hubs"`
}

func customerHubRun(ctx context.Context, opts *CustomerHubOptions) error {
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	switch opts.Op {
	case "add":
		err = store.AddCustomerHub(ctx, opts.Customer, opts.Hostname, actor())
	case "remove":
		err = store.RemoveCustomerHub(ctx, opts.Customer, opts.Hostname, actor())
	default:
		var hubs []string
		if hubs, err = store.CustomerHubs(ctx, opts.Customer); err == nil {
			if opts.Format.Value == cli.FormatJSON {
				enc := json.NewEncoder(opts.IO.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(customerHubsJSON{Customer: opts.Customer, Hubs: hubs})
			}
			for _, h := range hubs {
				fmt.Fprintln(opts.IO.Out, h)
			}
			if len(hubs) == 0 {
				fmt.Fprintf(opts.IO.ErrOut, "no hub is allowed for %s: its users cannot activate boards until one is (oob-factory customer hub add %s HOSTNAME)\n", opts.Customer, opts.Customer)
			}
			return nil
		}
	}
	switch {
	case errors.Is(err, records.ErrNotFound):
		return &cli.NotFoundError{Err: err}
	case errors.Is(err, records.ErrExists):
		return &cli.ConflictError{Err: err}
	case err != nil:
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "hub %s %s for %s\n", opts.Hostname, map[string]string{"add": "allowed", "remove": "no longer allowed"}[opts.Op], opts.Customer)
	return nil
}

package factory

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/records"
)

// NewCmdCustomer returns `oob-factory customer`.
func NewCmdCustomer(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "customer", Short: "Record the customers boards are shipped to"}
	cmd.AddCommand(NewCmdCustomerAdd(ios, nil))
	cmd.AddCommand(NewCmdCustomerHub(ios, nil))
	return cmd
}

// CustomerAddOptions are the inputs of `oob-factory customer add`.
type CustomerAddOptions struct {
	IO   *cli.IOStreams
	Data DataFlags
	Name string
}

// NewCmdCustomerAdd returns `oob-factory customer add`. runF replaces the run function in tests.
func NewCmdCustomerAdd(ios *cli.IOStreams, runF func(context.Context, *CustomerAddOptions) error) *cobra.Command {
	opts := &CustomerAddOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Record a customer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = strings.TrimSpace(args[0])
			if opts.Name == "" {
				return cli.Usagef("the customer's name is empty")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return customerAddRun(cmd.Context(), opts)
		},
	}
	opts.Data.register(cmd.Flags())
	return cmd
}

func customerAddRun(ctx context.Context, opts *CustomerAddOptions) error {
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.AddCustomer(ctx, opts.Name); errors.Is(err, records.ErrExists) {
		return &cli.ConflictError{Err: err}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "customer %s recorded\n", opts.Name)
	return nil
}

// ShipOptions are the inputs of `oob-factory ship`.
type ShipOptions struct {
	IO       *cli.IOStreams
	Data     DataFlags
	Customer string
	CSV      string
	GUIDs    []string
}

// NewCmdShip returns `oob-factory ship`. runF replaces the run function in tests.
func NewCmdShip(ios *cli.IOStreams, runF func(context.Context, *ShipOptions) error) *cobra.Command {
	opts := &ShipOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "ship --customer NAME {GUID… | --csv FILE}",
		Short: "Record boards as shipped to a customer",
		Long: `Record boards as shipped to a customer, all or none: an unknown board, or one
already shipped to another customer, ships nothing. --csv reads the GUIDs from the
first column of FILE (- for standard input); a header row "guid" is skipped.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Customer == "" {
				return cli.Usagef("--customer is required")
			}
			if (len(args) > 0) == (opts.CSV != "") {
				return cli.Usagef("give the boards' GUIDs as arguments or with --csv FILE, one way")
			}
			opts.GUIDs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return shipRun(cmd.Context(), opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Customer, "customer", "", "the customer, as recorded by oob-factory customer add")
	cmd.Flags().StringVar(&opts.CSV, "csv", "", "read GUIDs from the first column of this CSV file")
	return cmd
}

// readGUIDs returns the first column of a CSV, header skipped, each checked.
func readGUIDs(r io.Reader) ([]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var out []string
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		g := strings.TrimSpace(rec[0])
		if line == 1 && strings.EqualFold(g, "guid") {
			continue
		}
		if g == "" {
			continue
		}
		if err := certify.CheckGUID(g); err != nil {
			return nil, fmt.Errorf("csv line %d: %w", line, err)
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil, errors.New("csv: no GUIDs")
	}
	return out, nil
}

func shipRun(ctx context.Context, opts *ShipOptions) error {
	guids := opts.GUIDs
	if opts.CSV != "" {
		var r io.Reader = opts.IO.In
		if opts.CSV != "-" {
			f, err := os.Open(opts.CSV)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		var err error
		if guids, err = readGUIDs(r); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	for _, g := range guids {
		if err := certify.CheckGUID(g); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	err = store.Ship(ctx, opts.Customer, guids, actor())
	switch {
	case errors.Is(err, records.ErrNotFound):
		return &cli.NotFoundError{Err: fmt.Errorf("%w; nothing was shipped", err)}
	case errors.Is(err, records.ErrExists):
		return &cli.ConflictError{Err: fmt.Errorf("%w; nothing was shipped", err)}
	case err != nil:
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "%d boards shipped to %s\n", len(guids), opts.Customer)
	return nil
}

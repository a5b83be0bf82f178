package factory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/est"
	"github.com/oobtpm/oob/internal/factory/records"
)

// NewCmdStation returns `oob-factory station`.
func NewCmdStation(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "station", Short: "Register the stations that may ask for board certificates"}
	cmd.AddCommand(NewCmdStationAdd(ios, nil))
	return cmd
}

// StationAddOptions are the inputs of `oob-factory station add`.
type StationAddOptions struct {
	IO        *cli.IOStreams
	Data      DataFlags
	Name      string
	TokenFile string
	Cert      string
}

// NewCmdStationAdd returns `oob-factory station add`. runF replaces the run function in tests.
func NewCmdStationAdd(ios *cli.IOStreams, runF func(context.Context, *StationAddOptions) error) *cobra.Command {
	opts := &StationAddOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "add NAME [--token-file FILE | --cert FILE]",
		Short: "Register a station and make its bearer token",
		Long: `Register a station. By default a new bearer token is made and printed once on
standard output; only its hash is stored, so it cannot be shown again. With
--token-file the token is written to that file (mode 0600) instead of printed.
With --cert the station authenticates with that TLS client certificate instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if opts.TokenFile != "" && opts.Cert != "" {
				return cli.Usagef("give --token-file or --cert, not both")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return stationAddRun(cmd.Context(), opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.TokenFile, "token-file", "", "write the token to this new file (mode 0600) instead of printing it")
	cmd.Flags().StringVar(&opts.Cert, "cert", "", "the station's TLS client certificate (PEM), instead of a token")
	return cmd
}

func stationAddRun(ctx context.Context, opts *StationAddOptions) error {
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if opts.Cert != "" {
		b, err := os.ReadFile(opts.Cert)
		if err != nil {
			return err
		}
		c, err := boardca.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("%s: %w", opts.Cert, err)
		}
		if err := stationConflict(store.AddStation(ctx, opts.Name, "", est.CertificateHash(c.Raw))); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "station %s registered with certificate %q\n", opts.Name, c.Subject.String())
		return nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if opts.TokenFile != "" {
		f, err := os.OpenFile(opts.TokenFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		if _, err := f.WriteString(token + "\n"); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if err := stationConflict(store.AddStation(ctx, opts.Name, est.TokenHash(token), "")); err != nil {
		if opts.TokenFile != "" {
			os.Remove(opts.TokenFile)
		}
		return err
	}
	if opts.TokenFile != "" {
		fmt.Fprintf(opts.IO.ErrOut, "station %s registered; its token is in %s\n", opts.Name, opts.TokenFile)
		return nil
	}
	fmt.Fprintf(opts.IO.ErrOut, "station %s registered; its token follows, shown only this once:\n", opts.Name)
	fmt.Fprintln(opts.IO.Out, token)
	return nil
}

func stationConflict(err error) error {
	if errors.Is(err, records.ErrExists) {
		return &cli.ConflictError{Err: fmt.Errorf("%w: choose another name", err)}
	}
	return err
}

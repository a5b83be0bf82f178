package factory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
)

// Label formats.
const (
	formatPNG cli.Format = "png"
	formatZPL cli.Format = "zpl"
)

// LabelOptions are the inputs of `oob-factory label`.
type LabelOptions struct {
	IO        *cli.IOStreams
	Data      DataFlags
	Format    *cli.FormatFlag
	GUIDs     []string
	Batch     string
	PortalURL string
	Out       string
}

// NewCmdLabel returns `oob-factory label`. runF replaces the run function in tests.
func NewCmdLabel(ios *cli.IOStreams, runF func(context.Context, *LabelOptions) error) *cobra.Command {
	opts := &LabelOptions{IO: ios, Format: &cli.FormatFlag{Value: formatPNG, Allowed: []cli.Format{formatPNG, formatZPL}}}
	cmd := &cobra.Command{
		Use:   "label {GUID… | --batch B} --portal-url URL --out DIR [--format png|zpl]",
		Short: "Make boards' box labels: GUID, activation QR code and one-time code",
		Long: `Make a label for each board: its GUID in text, a QR code of the customer portal's
activation URL (--portal-url, with the GUID and a one-time activation code), and the code
in text. Only the code's hash is stored; printing a board's label again makes a new
code and the old one stops working. Files: DIR/GUID.png or DIR/GUID.zpl, and beside it
DIR/GUID.url, the same activation URL alone on one line, for the board's image (the
agent's x509.activationFile): a board whose label is lost shows that code on its screen
while it waits for activation.`,
		Example: `  oob-factory label --batch 2026-12 --portal-url https://activate.example.com --out labels --format zpl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) > 0) == (opts.Batch != "") {
				return cli.Usagef("give boards' GUIDs or --batch B, one way")
			}
			if opts.PortalURL == "" || opts.Out == "" {
				return cli.Usagef("--portal-url and --out are required")
			}
			for _, g := range args {
				if err := certify.CheckGUID(g); err != nil {
					return &cli.UsageError{Err: err}
				}
			}
			if _, err := label.New(opts.PortalURL, "x", "x"); err != nil {
				return &cli.UsageError{Err: err}
			}
			opts.GUIDs = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labelRun(cmd.Context(), opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	cmd.Flags().StringVar(&opts.Batch, "batch", "", "label every board of this batch")
	cmd.Flags().StringVar(&opts.PortalURL, "portal-url", "", "the customer portal's activation URL (https)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "write the labels to this directory")
	return cmd
}

func labelRun(ctx context.Context, opts *LabelOptions) error {
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	guids := opts.GUIDs
	if opts.Batch != "" {
		if guids, err = store.BatchGUIDs(ctx, opts.Batch); err != nil {
			return err
		}
		if len(guids) == 0 {
			return &cli.NotFoundError{Err: fmt.Errorf("no boards in batch %s", opts.Batch)}
		}
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	for _, g := range guids {
		code, err := label.NewCode()
		if err != nil {
			return err
		}
		l, err := label.New(opts.PortalURL, g, code)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if opts.Format.Value == formatZPL {
			err = l.ZPL(&b)
		} else {
			err = l.PNG(&b)
		}
		if err != nil {
			return err
		}
		// The code is stored before the label exists, so a label never carries a code that
		// does not work.
		if err := store.SetActivationCode(ctx, g, label.CodeHash(code), actor()); errors.Is(err, records.ErrNotFound) {
			return &cli.NotFoundError{Err: err}
		} else if err != nil {
			return err
		}
		path := filepath.Join(opts.Out, g+"."+string(opts.Format.Value))
		if err := boardca.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return err
		}
		if err := boardca.WriteFile(filepath.Join(opts.Out, g+".url"), []byte(l.URL+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, path)
	}
	fmt.Fprintf(opts.IO.ErrOut, "%d labels in %s\n", len(guids), opts.Out)
	return nil
}

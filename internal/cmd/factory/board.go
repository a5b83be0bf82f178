package factory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/outbox"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/pkg/dps"
)

// NewCmdBoard returns `oob-factory board`.
func NewCmdBoard(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "board", Short: "Certify boards that cannot make a key, and allow re-issues"}
	cmd.AddCommand(NewCmdBoardIssue(ios, nil))
	cmd.AddCommand(NewCmdBoardReissue(ios, nil))
	return cmd
}

// BoardIssueOptions are the inputs of `oob-factory board issue`.
type BoardIssueOptions struct {
	IO      *cli.IOStreams
	Data    DataFlags
	Service ServiceFlags
	Board   BoardFlags
	GUID    string
	Out     string
	KeyType string
	Timeout time.Duration
}

// NewCmdBoardIssue returns `oob-factory board issue`. runF replaces the run function in tests.
func NewCmdBoardIssue(ios *cli.IOStreams, runF func(context.Context, *BoardIssueOptions) error) *cobra.Command {
	opts := &BoardIssueOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "issue GUID --out DIR",
		Short: "Make a board's key and certificate, for boards that cannot make a key",
		Long: `Make a key and certificate for the board GUID and write them to --out DIR as PEM:
GUID.key.pem (mode 0600), GUID.cert.pem (the leaf) and GUID.chain.pem (the leaf, the
intermediate and the root). The board is recorded and its disabled enrollment is sent
to DPS before the command exits when DPS answers; otherwise it waits in the outbox
for oob-factory serve.
` + serviceHelp,
		Example: `  oob-factory board issue 0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b --out /media/usb --line 4`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.GUID = args[0]
			if err := certify.CheckGUID(opts.GUID); err != nil {
				return &cli.UsageError{Err: err}
			}
			if opts.Out == "" {
				return cli.Usagef("--out DIR is required")
			}
			if opts.Timeout <= 0 {
				return cli.Usagef("--timeout must be positive")
			}
			if err := opts.Board.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return boardIssueRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.Data.register(f)
	opts.Service.register(f)
	opts.Board.register(f)
	f.StringVar(&opts.Out, "out", "", "write the key and certificates to this directory")
	f.StringVar(&opts.KeyType, "key-type", string(boardca.ECDSAP256), "the board key's type: ecdsa-p256 or rsa3072")
	f.DurationVar(&opts.Timeout, "timeout", time.Minute, "how long to try DPS before leaving the enrollment in the outbox")
	return cmd
}

func boardIssueRun(ctx context.Context, opts *BoardIssueOptions) error {
	ca, err := opts.Data.ca()
	if err != nil {
		return err
	}
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	paths := boardFiles(opts.Out, opts.GUID)
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return &cli.ConflictError{Err: fmt.Errorf("%s exists: nothing was written; move it away first", p)}
		}
	}
	key, err := boardca.NewKey(boardca.KeyType(opts.KeyType))
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	c := &certify.Certifier{CA: ca, Store: store, Validity: opts.Board.Validity, Line: opts.Board.Line, Batch: opts.Board.Batch}
	res, err := c.Certify(ctx, "operator "+actor(), opts.GUID, key.Public())
	if errors.Is(err, certify.ErrOtherKey) {
		return &cli.ConflictError{Err: err}
	}
	if err != nil {
		return err
	}
	keyPEM, err := boardca.KeyPEM(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opts.Out, 0o700); err != nil {
		return err
	}
	if err := boardca.WriteFile(paths[0], keyPEM, 0o600); err != nil {
		return err
	}
	if err := boardca.WriteFile(paths[1], boardca.PEM(res.Leaf), 0o644); err != nil {
		return err
	}
	chain := append(boardca.PEM(res.Leaf), []byte(res.Board.Chain)...)
	if err := boardca.WriteFile(paths[2], chain, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "board %s certified (serial %s); key and certificates in %s\n", opts.GUID, res.Board.Serial, opts.Out)
	for _, p := range paths {
		fmt.Fprintln(opts.IO.Out, p)
	}
	return sendNow(ctx, opts.IO, store, &opts.Service, opts.Board.Factory, opts.GUID, opts.Timeout)
}

func boardFiles(dir, guid string) []string {
	return []string{filepath.Join(dir, guid+".key.pem"), filepath.Join(dir, guid+".cert.pem"), filepath.Join(dir, guid+".chain.pem")}
}

// sendNow sends the pending enrollments, and says where guid's stands.
func sendNow(ctx context.Context, ios *cli.IOStreams, store *records.Store, svc *ServiceFlags, factory, guid string, timeout time.Duration) error {
	client, err := svc.client(dps.Options{})
	if err != nil {
		return err
	}
	if client == nil {
		fmt.Fprintf(ios.ErrOut, "%s; the enrollment waits in the outbox for oob-factory serve\n", noDPS)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w := &outbox.Worker{DPS: client, Store: store, Factory: factory}
	r, err := w.RunOnce(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	b, err := store.Board(context.Background(), guid)
	if err != nil {
		return err
	}
	switch b.State {
	case records.StatePreEnrolled:
		fmt.Fprintf(ios.ErrOut, "board %s pre-enrolled in DPS, disabled\n", guid)
	case records.StateFailed:
		return fmt.Errorf("board %s: the DPS enrollment failed: see oob-factory status", guid)
	default:
		why := "no answer in time"
		if r.LastError != nil {
			why = r.LastError.Error()
		}
		fmt.Fprintf(ios.ErrOut, "board %s: DPS did not take the enrollment (%s); it waits in the outbox for oob-factory serve\n", guid, why)
	}
	return nil
}

// actor names who runs a command, for the audit trail.
func actor() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// BoardReissueOptions are the inputs of `oob-factory board reissue`.
type BoardReissueOptions struct {
	IO     *cli.IOStreams
	Data   DataFlags
	GUID   string
	Reason string
}

// NewCmdBoardReissue returns `oob-factory board reissue`. runF replaces the run function in tests.
func NewCmdBoardReissue(ios *cli.IOStreams, runF func(context.Context, *BoardReissueOptions) error) *cobra.Command {
	opts := &BoardReissueOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "reissue GUID --reason TEXT",
		Short: "Allow a known board's next request to carry a new key",
		Long: `Allow the next certificate request for GUID to carry another key than the one
certified (a replaced TPM or flash, a lost key). The new certificate replaces the old
one, in the records and in DPS. Who allowed it, and why, goes to the audit trail.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.GUID = strings.ToLower(args[0])
			if err := certify.CheckGUID(opts.GUID); err != nil {
				return &cli.UsageError{Err: err}
			}
			if opts.Reason == "" {
				return cli.Usagef("--reason is required: it goes to the audit trail")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return boardReissueRun(cmd.Context(), opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why the board gets a new certificate, for the audit trail")
	return cmd
}

func boardReissueRun(ctx context.Context, opts *BoardReissueOptions) error {
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	err = store.AllowReissue(ctx, opts.GUID, actor(), opts.Reason)
	if errors.Is(err, records.ErrNotFound) {
		return &cli.NotFoundError{Err: fmt.Errorf("no board %s in the records", opts.GUID)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "board %s: its next certificate request may carry a new key\n", opts.GUID)
	return nil
}

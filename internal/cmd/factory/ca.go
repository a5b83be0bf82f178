package factory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/factory/boardca"
)

// NewCmdCA returns `oob-factory ca` and its subcommands.
func NewCmdCA(ios *cli.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "Make, import and prove the factory's CA"}
	cmd.AddCommand(NewCmdCAInit(ios, nil))
	cmd.AddCommand(NewCmdCAImport(ios, nil))
	cmd.AddCommand(NewCmdCAVerificationCert(ios, nil))
	return cmd
}

// CAInitOptions are the inputs of `oob-factory ca init`.
type CAInitOptions struct {
	IO      *cli.IOStreams
	Data    DataFlags
	Name    string
	KeyType string
}

// NewCmdCAInit returns `oob-factory ca init`. runF replaces the run function in tests.
func NewCmdCAInit(ios *cli.IOStreams, runF func(context.Context, *CAInitOptions) error) *cobra.Command {
	opts := &CAInitOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make a root CA and an issuing intermediate in --data",
		Long: `Make a new root CA and the intermediate that issues board certificates, in --data.
Keys are written to 0600 files there; an existing CA is never replaced.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.KeyType != string(boardca.ECDSAP256) && opts.KeyType != string(boardca.RSA3072) {
				return cli.Usagef("--key-type must be %s or %s", boardca.ECDSAP256, boardca.RSA3072)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return caInitRun(opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Name, "name", "oob factory", "the CA's name, in its certificates' subjects")
	cmd.Flags().StringVar(&opts.KeyType, "key-type", string(boardca.ECDSAP256), "key type: ecdsa-p256 or rsa3072")
	return cmd
}

func caInitRun(opts *CAInitOptions) error {
	ca, err := boardca.Init(opts.Data.Dir, opts.Name, boardca.KeyType(opts.KeyType), time.Now())
	if errors.Is(err, boardca.ErrExists) {
		return &cli.ConflictError{Err: fmt.Errorf("%s already holds a CA; nothing was changed", opts.Data.Dir)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "CA made in %s: root %q, intermediate %q\n", opts.Data.Dir, ca.Root.Subject.CommonName, ca.Intermediate.Subject.CommonName)
	fmt.Fprintf(opts.IO.Out, "%s\n", filepath.Join(opts.Data.Dir, boardca.RootCertFile))
	return nil
}

// CAImportOptions are the inputs of `oob-factory ca import`.
type CAImportOptions struct {
	IO       *cli.IOStreams
	Data     DataFlags
	RootCert string
	Cert     string
	KeyFile  string
}

// NewCmdCAImport returns `oob-factory ca import`. runF replaces the run function in tests.
func NewCmdCAImport(ios *cli.IOStreams, runF func(context.Context, *CAImportOptions) error) *cobra.Command {
	opts := &CAImportOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "import --root-cert FILE --cert FILE --key-file FILE",
		Short: "Take an existing root and issuing intermediate into --data",
		Long: `Take an existing root certificate, the intermediate that will issue board
certificates, and the intermediate's key (from a file only its owner can read) into --data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.RootCert == "" || opts.Cert == "" || opts.KeyFile == "" {
				return cli.Usagef("--root-cert, --cert and --key-file are all required")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return caImportRun(opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.RootCert, "root-cert", "", "the root CA certificate (PEM)")
	cmd.Flags().StringVar(&opts.Cert, "cert", "", "the issuing intermediate's certificate (PEM)")
	cmd.Flags().StringVar(&opts.KeyFile, "key-file", "", "the intermediate's private key (PEM, mode 0600)")
	return cmd
}

func caImportRun(opts *CAImportOptions) error {
	root, err := os.ReadFile(opts.RootCert)
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(opts.Cert)
	if err != nil {
		return err
	}
	ca, err := boardca.Import(opts.Data.Dir, root, cert, opts.KeyFile)
	if errors.Is(err, boardca.ErrExists) {
		return &cli.ConflictError{Err: fmt.Errorf("%s already holds a CA; nothing was changed", opts.Data.Dir)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "CA imported into %s: intermediate %q under root %q\n", opts.Data.Dir, ca.Intermediate.Subject.CommonName, ca.Root.Subject.CommonName)
	return nil
}

// CAVerificationOptions are the inputs of `oob-factory ca verification-cert`.
type CAVerificationOptions struct {
	IO   *cli.IOStreams
	Data DataFlags
	Code string
	CA   string
}

// NewCmdCAVerificationCert returns `oob-factory ca verification-cert`. runF replaces the run
// function in tests.
func NewCmdCAVerificationCert(ios *cli.IOStreams, runF func(context.Context, *CAVerificationOptions) error) *cobra.Command {
	opts := &CAVerificationOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "verification-cert --code CODE",
		Short: "Make the certificate DPS asks for to prove possession of the CA",
		Long: `After uploading a CA certificate to DPS (Certificates, Add), DPS shows a
verification code. This makes a certificate with CN = that code, signed by the CA
being verified (--ca intermediate, the default, or root), and writes it as PEM to
standard output; upload it on the same page to verify the CA.`,
		Example: `  oob-factory ca verification-cert --code 8E0C4A… > verify.pem`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Code == "" {
				return cli.Usagef("--code is required: copy it from the certificate's page in DPS")
			}
			if opts.CA != string(boardca.Intermediate) && opts.CA != string(boardca.Root) {
				return cli.Usagef("--ca must be intermediate or root")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return caVerificationRun(opts)
		},
	}
	opts.Data.register(cmd.Flags())
	cmd.Flags().StringVar(&opts.Code, "code", "", "the verification code DPS shows")
	cmd.Flags().StringVar(&opts.CA, "ca", string(boardca.Intermediate), "which CA certificate is being verified: intermediate or root")
	return cmd
}

func caVerificationRun(opts *CAVerificationOptions) error {
	ca, err := opts.Data.ca()
	if err != nil {
		return err
	}
	c, err := ca.VerificationCertificate(opts.Code, boardca.Which(opts.CA), time.Now())
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(boardca.PEM(c))
	return err
}

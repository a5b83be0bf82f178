package factory

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/httpsserver"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/est"
	"github.com/oobtpm/oob/internal/factory/outbox"
	"github.com/oobtpm/oob/pkg/dps"
)

// BoardFlags are what every board certified by this run is recorded with.
type BoardFlags struct {
	Factory  string
	Line     string
	Batch    string
	Validity time.Duration
}

func (f *BoardFlags) register(fs *pflag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&f.Factory, "factory", host, "this factory's name, tagged on each enrollment")
	fs.StringVar(&f.Line, "line", "", "the production line, recorded and tagged on each board")
	fs.StringVar(&f.Batch, "batch", "", "the batch, recorded and tagged on each board")
	fs.DurationVar(&f.Validity, "validity", certify.DefaultValidity, "how long board certificates are valid")
}

func (f *BoardFlags) check() error {
	if f.Validity <= 0 {
		return cli.Usagef("--validity must be positive")
	}
	return nil
}

// ServeOptions are the inputs of `oob-factory serve`.
type ServeOptions struct {
	IO      *cli.IOStreams
	Data    DataFlags
	Service ServiceFlags
	Board   BoardFlags

	Listen    string
	TLSCert   string
	TLSKey    string
	Hostnames []string

	// Ready, when set, is called with the address once the server listens (tests).
	Ready func(addr string)
}

// NewCmdServe returns `oob-factory serve`. runF replaces the run function in tests.
func NewCmdServe(ios *cli.IOStreams, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Certify boards over EST and pre-enroll them in DPS",
		Long: `Serve RFC 7030 EST over HTTPS for the factory's stations:

  GET  /.well-known/est/cacerts       the intermediate and root (base64 PKCS#7)
  POST /.well-known/est/simpleenroll  a board's PKCS#10 request (base64 DER,
                                      application/pkcs10), CN = its GUID in lower case

Stations authenticate with "Authorization: Bearer TOKEN" or a client certificate,
as registered by oob-factory station add. The same GUID and key get the same
certificate back; another key for a known GUID is refused (409) until
oob-factory board reissue allows it.

Each certified board's enrollment is sent to DPS (disabled X.509, registration ID =
device ID = GUID) by a worker that retries while DPS is away. Without a DPS
connection string the boards are recorded and their enrollments wait.

TLS: --tls-cert/--tls-key, or a server certificate from the factory's own CA for
--hostname (the stations then trust the factory's root).
` + serviceHelp,
		Example: `  oob-factory serve --listen :8443 --hostname factory.local --line 4 --batch 2026-12`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (opts.TLSCert == "") != (opts.TLSKey == "") {
				return cli.Usagef("--tls-cert and --tls-key go together")
			}
			if opts.TLSCert == "" && len(opts.Hostnames) == 0 {
				return cli.Usagef("give --tls-cert and --tls-key, or --hostname for a certificate from the factory's CA")
			}
			if err := opts.Board.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.Data.register(f)
	opts.Service.register(f)
	opts.Board.register(f)
	f.StringVar(&opts.Listen, "listen", ":8443", "listen on this ADDRESS:PORT")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "the server's certificate chain (PEM)")
	f.StringVar(&opts.TLSKey, "tls-key", "", "the server's private key (PEM, mode 0600)")
	f.StringSliceVar(&opts.Hostnames, "hostname", nil, "host names or addresses for a server certificate from the factory's CA")
	return cmd
}

const serviceHelp = `
DPS credentials: $DPS_CONNECTION_STRING or --connection-string-file FILE (mode
0600); $DPS_CA_FILE or --ca-file to trust a private CA (e.g. the emulator's).`

// wakingCertifier tells the outbox worker about each new board, so that it need not poll.
type wakingCertifier struct {
	*certify.Certifier
	wake chan struct{}
}

func (w wakingCertifier) Certify(ctx context.Context, station, guid string, pub crypto.PublicKey) (*certify.Result, error) {
	res, err := w.Certifier.Certify(ctx, station, guid, pub)
	if err == nil && res.New {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return res, err
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, nil))
	ca, err := opts.Data.ca()
	if err != nil {
		return err
	}
	store, err := opts.Data.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var cert tls.Certificate
	if opts.TLSCert != "" {
		if _, err := boardca.ReadKeyFile(opts.TLSKey); err != nil {
			return err
		}
		if cert, err = tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey); err != nil {
			return fmt.Errorf("server certificate: %w", err)
		}
	} else if cert, err = ca.ServerCertificate(opts.Hostnames, time.Now()); err != nil {
		return err
	}
	client, err := opts.Service.client(dps.Options{Logger: log})
	if err != nil {
		return err
	}
	wake := make(chan struct{}, 1)
	certifier := &certify.Certifier{CA: ca, Store: store, Validity: opts.Board.Validity, Line: opts.Board.Line, Batch: opts.Board.Batch}
	h := &est.Server{Stations: store, Certifier: wakingCertifier{certifier, wake}, Chain: ca.Chain(), Logger: log}
	srv := httpsserver.New(h, &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}, log)
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return err
	}
	var jobs []func(context.Context) error
	if client != nil {
		w := &outbox.Worker{DPS: client, Store: store, Factory: opts.Board.Factory, Logger: log}
		jobs = append(jobs, func(ctx context.Context) error { return w.Run(ctx, wake) })
	} else {
		log.Warn("serve: " + noDPS + "; boards are recorded and their enrollments wait")
	}
	log.Info("serve: listening", "url", "https://"+l.Addr().String()+est.PathSimpleEnroll)
	if opts.Ready != nil {
		opts.Ready(l.Addr().String())
	}
	return httpsserver.Run(ctx, srv, l, jobs...)
}

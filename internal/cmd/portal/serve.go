package portal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dataflags"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/cli/httpsserver"
	"github.com/oobtpm/oob/internal/cli/hubflags"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/registration"
	"github.com/oobtpm/oob/internal/portal/web"
	"github.com/oobtpm/oob/pkg/dps"
)

// ServeOptions are the inputs of `oob-portal serve`.
type ServeOptions struct {
	IO      *cli.IOStreams
	Data    dataflags.Flags
	Service dpsflags.Flags
	Hubs    hubflags.Flags

	Listen    string
	TLSCert   string
	TLSKey    string
	Hostnames []string
	Idle      time.Duration
	MaxAge    time.Duration

	RegistrationEvery time.Duration
	RegistrationBatch int

	// Ready, when set, is called with the address once the server listens (tests).
	Ready func(addr string)
}

// NewCmdServe returns `oob-portal serve`. runF replaces the run function in tests.
func NewCmdServe(ios *cli.IOStreams, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the activation portal over HTTPS",
		Long: `Serve the portal over HTTPS, with the certificate given by --tls-cert and --tls-key,
or, for local use, one it makes for itself at start for the --hostname names (browsers
will warn: its SHA-256 fingerprint is printed to compare).

DPS: the service connection string from $DPS_CONNECTION_STRING or
--connection-string-file (0600), as the companion takes it; without one the portal
runs but cannot activate. With it, the portal also reads from DPS, every
--registration-every, whether activated boards have registered (at most
--registration-batch boards each time, the longest unread first).

IoT hubs: with the hubs' service connection strings (one per line, each a hub's
iothubowner or registry read policy, from $IOTHUB_CONNECTION_STRINGS or
--hub-connection-strings-file, 0600), the portal reads in the background, every
--hub-refresh, where DPS assigned each activated board and whether its device is
connected to that hub, and the board list shows it.`,
		Example: `  oob-portal serve --listen :8443 --tls-cert portal.pem --tls-key portal.key
  oob-portal serve --listen 127.0.0.1:8443 --hostname localhost
  oob-portal serve --tls-cert portal.pem --tls-key portal.key --hub-connection-strings-file /etc/oob/hubs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (opts.TLSCert == "") != (opts.TLSKey == "") {
				return cli.Usagef("give both --tls-cert and --tls-key")
			}
			if opts.TLSCert == "" && len(opts.Hostnames) == 0 {
				return cli.Usagef("give --tls-cert and --tls-key, or --hostname for a certificate of the portal's own")
			}
			if opts.TLSCert != "" && len(opts.Hostnames) > 0 {
				return cli.Usagef("give --tls-cert and --tls-key, or --hostname, not both")
			}
			if opts.Hubs.Refresh <= 0 {
				return cli.Usagef("--hub-refresh must be positive")
			}
			if opts.Idle <= 0 || opts.MaxAge < opts.Idle {
				return cli.Usagef("--idle must be positive and no longer than --max-age")
			}
			if opts.RegistrationEvery < time.Second || opts.RegistrationBatch < 1 {
				return cli.Usagef("--registration-every must be at least 1s and --registration-batch at least 1")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", ":8443", "the address to listen on")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "the server's certificate chain, PEM")
	f.StringVar(&opts.TLSKey, "tls-key", "", "the server's private key, PEM")
	f.StringSliceVar(&opts.Hostnames, "hostname", nil, "host names or addresses for a certificate the portal makes for itself (local use)")
	f.DurationVar(&opts.Idle, "idle", web.DefaultIdle, "sign a user out after this long without a request")
	f.DurationVar(&opts.MaxAge, "max-age", web.DefaultMaxAge, "sign a user out this long after they signed in, in use or not")
	f.DurationVar(&opts.RegistrationEvery, "registration-every", registration.DefaultEvery, "how often to read from DPS whether activated boards have registered")
	f.IntVar(&opts.RegistrationBatch, "registration-batch", registration.DefaultBatch, "at most this many boards' registrations read each time")
	opts.Data.Register(f, "the factory's data directory, where its SQLite database is")
	opts.Service.Register(f)
	opts.Hubs.Register(f)
	return cmd
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, nil))
	store, err := opts.Data.Open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var cert tls.Certificate
	if opts.TLSCert != "" {
		if cert, err = tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey); err != nil {
			return fmt.Errorf("server certificate: %w", err)
		}
	} else {
		if cert, err = selfSigned(opts.Hostnames, time.Now()); err != nil {
			return err
		}
		sum := sha256.Sum256(cert.Certificate[0])
		log.Info("serve: made a certificate of its own", "hosts", opts.Hostnames, "sha256", hex.EncodeToString(sum[:]))
	}
	var enrollments activation.Enrollments
	var states registration.States
	var jobs []func(context.Context) error
	client, err := opts.Service.Dial(dps.Options{Logger: log})
	switch {
	case errors.Is(err, dpsflags.ErrNoConnectionString):
		log.Warn("serve: " + err.Error() + "; boards can be seen but not activated")
	case err != nil:
		return err
	default:
		enrollments, states = client, client
		// Activated boards' registrations, read in the background so the list shows them.
		refresher := &registration.Refresher{Store: store, DPS: client, Every: opts.RegistrationEvery, Batch: opts.RegistrationBatch, Logger: log}
		jobs = append(jobs, refresher.Run)
	}
	ctx, stopRefresh := context.WithCancel(ctx)
	waitRefresh, err := startHubState(ctx, opts, store, client, log)
	if err != nil {
		stopRefresh()
		return err
	}
	// Stopped before the store closes (deferred above, so run after this).
	defer waitRefresh()
	defer stopRefresh()
	w, err := web.New(web.Config{Store: store, DPS: enrollments, Registrations: states, Logger: log, Idle: opts.Idle, MaxAge: opts.MaxAge})
	if err != nil {
		return err
	}
	srv := httpsserver.New(w.Handler(), &tls.Config{Certificates: []tls.Certificate{cert}}, log)
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return err
	}
	log.Info("serve: listening", "url", "https://"+l.Addr().String()+"/")
	if opts.Ready != nil {
		opts.Ready(l.Addr().String())
	}
	return httpsserver.Run(ctx, srv, l, jobs...)
}

// selfSigned makes a 90-day ECDSA P-256 certificate for hosts, kept in memory only.
func selfSigned(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 0, 90),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

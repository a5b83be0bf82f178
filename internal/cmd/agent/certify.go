package agent

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/devicecert"
	"github.com/oobtpm/oob/pkg/est"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/tpm"
)

// envStationToken carries the factory station's token for `certify`.
const envStationToken = "OOB_STATION_TOKEN"

// CertifyOptions are the inputs of `oob-agent certify`.
type CertifyOptions struct {
	IO     *cli.IOStreams
	TPM    tpmOptions
	Format *cli.FormatFlag

	Factory        string
	CAFile         string
	TokenFile      string
	HardwareID     string
	HardwareIDFile string
	Key            string
	KeyFile        string
	StateDir       string
	Timeout        time.Duration
}

// NewCmdCertify returns `oob-agent certify`. runF replaces the run function in tests.
func NewCmdCertify(ios *cli.IOStreams, runF func(context.Context, *CertifyOptions) error) *cobra.Command {
	opts := &CertifyOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "certify --factory URL",
		Short: "Get this board's X.509 certificate from the factory, for its key in the TPM or a file",
		Long: `Get the board's certificate from the factory server (oob-factory serve) by EST
(RFC 7030 simpleenroll) over verified TLS: a certificate request whose common name is
the board's hardware GUID, signed by the device's key, is sent with the station's token,
and the chain the factory answers with is stored in the state directory:

  STATE/device-chain.pem   the board's certificate, then the factory's CAs (0644)
  STATE/device-key.pem     the private key, when kept in a file (0600, PKCS#8)

The key (--key): "tpm" is an ECDSA P-256 key created once in the TPM and persisted at
0x81000101, which never leaves it; "file" is an ECDSA P-256 key in the key file; "auto"
(the default) uses the key file when it exists, else the TPM, else a new key file when
the board has no TPM. Running again reuses the key and gets the same certificate. A
stored certificate for another key is refused: move it away, and let the factory accept
the new key (oob-factory board reissue GUID).

The GUID is the board's SMBIOS UUID (/sys/class/dmi/id/product_uuid, readable by root)
unless --hardware-id or --hardware-id-file gives it; it is written in lower case.
The station token comes from --token-file (mode 0600) or OOB_STATION_TOKEN, never from
the command line.

Exit status: 0 certified; 4 the factory certified another key for this board, or the
stored certificate is for another key; 2 usage; 1 any other failure.`,
		Example: `  oob-agent certify --factory https://factory.local:8443 --ca-file /etc/oob/factory-ca.pem \
      --token-file /etc/oob/station.token
  OOB_STATION_TOKEN=… oob-agent certify --factory https://10.0.4.2:8443 --ca-file ca.pem \
      --hardware-id 0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b --key file --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return certifyRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.TPM.register(f)
	f.StringVar(&opts.Factory, "factory", "", "the factory's EST server: https://HOST[:PORT]")
	f.StringVar(&opts.CAFile, "ca-file", "", "trust only this PEM CA for the factory's TLS certificate (its ca-root.pem)")
	f.StringVar(&opts.TokenFile, "token-file", "", "file (mode 0600) holding the station's token (or set "+envStationToken+")")
	f.StringVar(&opts.HardwareID, "hardware-id", "", "the board's GUID, 8-4-4-4-12 hexadecimal (default: read from --hardware-id-file)")
	f.StringVar(&opts.HardwareIDFile, "hardware-id-file", devicecert.DefaultHardwareIDFile, "file holding the board's GUID")
	f.StringVar(&opts.Key, "key", devicecert.KeyAuto, "where the key is kept: auto, tpm or file")
	f.StringVar(&opts.KeyFile, "key-file", "", "the key file (default STATE/device-key.pem)")
	f.StringVar(&opts.StateDir, "state-dir", firstboot.DefaultStateDir, "the agent's state directory, where the chain is stored")
	f.DurationVar(&opts.Timeout, "timeout", time.Minute, "give up after this long")
	f.Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

// check refuses bad or contradictory flags before anything is opened or sent.
func (o *CertifyOptions) check(cmd *cobra.Command) error {
	if o.Factory == "" {
		return cli.Usagef("give the factory's EST server with --factory https://HOST[:PORT]")
	}
	if err := est.CheckURL(o.Factory); err != nil {
		return cli.Usagef("--factory: %v", err)
	}
	if o.HardwareID != "" {
		if cmd.Flags().Changed("hardware-id-file") {
			return cli.Usagef("give the GUID with --hardware-id or --hardware-id-file, not both")
		}
		id, err := devicecert.NormalizeHardwareID(o.HardwareID)
		if err != nil {
			return cli.Usagef("--hardware-id: %v", err)
		}
		o.HardwareID = id
	}
	switch o.Key {
	case devicecert.KeyAuto, devicecert.KeyTPM, devicecert.KeyFile:
	default:
		return cli.Usagef("--key %q: use auto, tpm or file", o.Key)
	}
	if o.Key == devicecert.KeyFile && cmd.Flags().Changed("tpm") {
		return cli.Usagef("--tpm applies to a key in the TPM, not with --key file")
	}
	if o.Key == devicecert.KeyTPM && cmd.Flags().Changed("key-file") {
		return cli.Usagef("--key-file applies to a key in a file, not with --key tpm")
	}
	if _, ok := os.LookupEnv(envStationToken); !ok && o.TokenFile == "" {
		return cli.Usagef("give the station's token with --token-file FILE (mode 0600) or %s "+
			"(`oob-factory station add NAME --token-file FILE` makes one)", envStationToken)
	}
	if o.Timeout <= 0 {
		return cli.Usagef("--timeout must be positive")
	}
	return nil
}

// certifyJSON is the stable JSON shape of `certify --format json`.
type certifyJSON struct {
	HardwareID  string    `json:"hardwareId"`
	Key         string    `json:"key"`
	KeyHandle   string    `json:"keyHandle,omitempty"`
	KeyFile     string    `json:"keyFile,omitempty"`
	KeyCreated  bool      `json:"keyCreated"`
	ChainFile   string    `json:"chainFile"`
	Unchanged   bool      `json:"unchanged"`
	Serial      string    `json:"serial"`
	Issuer      string    `json:"issuer"`
	NotAfter    time.Time `json:"notAfter"`
	Fingerprint string    `json:"sha256Fingerprint"`
}

func certifyRun(ctx context.Context, opts *CertifyOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	guid := opts.HardwareID
	if guid == "" {
		var err error
		if guid, err = devicecert.ReadHardwareID(opts.HardwareIDFile); err != nil {
			return err
		}
	}
	token, err := cli.Secret(envStationToken, opts.TokenFile)
	if err != nil {
		return fmt.Errorf("station token: %w", err)
	}
	if len(token) == 0 {
		return fmt.Errorf("station token: %s is empty: put the token `oob-factory station add` gave in it", tokenSource(opts))
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		if tlsConf.RootCAs, err = cafile.Load(opts.CAFile); err != nil {
			return err
		}
	}
	keyFile := opts.KeyFile
	if keyFile == "" {
		keyFile = devicecert.KeyPath(opts.StateDir)
	}
	key, err := devicecert.OpenKey(ctx, opts.Key, keyFile, opts.TPM.open)
	if err != nil {
		return certifyError(opts, err)
	}
	defer key.Close()

	client := &est.Client{URL: opts.Factory, Token: token, HTTPClient: &http.Client{
		Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment},
	}}
	res, err := devicecert.Certify(ctx, devicecert.Request{
		HardwareID: guid, Key: key.Signer, ChainFile: devicecert.ChainPath(opts.StateDir), Enroller: client,
	})
	if err != nil {
		return certifyError(opts, err)
	}
	leaf := res.Leaf()
	sum := sha256.Sum256(leaf.Raw)
	out := certifyJSON{
		HardwareID: guid, Key: key.Kind, KeyFile: key.File, KeyCreated: key.Created,
		ChainFile: res.ChainFile, Unchanged: res.Unchanged,
		Serial: leaf.SerialNumber.Text(16), Issuer: leaf.Issuer.CommonName, NotAfter: leaf.NotAfter.UTC(),
		Fingerprint: hex.EncodeToString(sum[:]),
	}
	if key.Kind == devicecert.KeyTPM {
		out.KeyHandle = fmt.Sprintf("0x%08x", key.Handle)
	}
	return printCertify(opts, out)
}

// certifyError adds what to do to the failures a user meets, and the exit code of refusals.
func certifyError(opts *CertifyOptions, err error) error {
	switch {
	case errors.Is(err, est.ErrUnauthorized):
		return fmt.Errorf("%w: the factory does not know the station token in %s: check it is the token "+
			"`oob-factory station add` gave this station", err, tokenSource(opts))
	case errors.Is(err, est.ErrConflict), errors.Is(err, devicecert.ErrKeyMismatch):
		// Both messages name the re-issue that lets the factory accept a new key.
		return &cli.ConflictError{Err: err}
	case errors.Is(err, tpm.ErrNoTPM):
		return fmt.Errorf("%w; or keep the key in a file: --key file", err)
	}
	var unknown *tls.CertificateVerificationError
	if errors.As(err, &unknown) && opts.CAFile == "" {
		return fmt.Errorf("%w: the factory's certificate is not signed by a CA this system trusts: give its CA with --ca-file (ca-root.pem in the factory's data directory)", err)
	}
	return err
}

// tokenSource names where the token was read from, for messages.
func tokenSource(opts *CertifyOptions) string {
	if opts.TokenFile != "" {
		return opts.TokenFile
	}
	return envStationToken
}

func printCertify(opts *CertifyOptions, out certifyJSON) error {
	if opts.Format.Value == cli.FormatJSON {
		return json.NewEncoder(opts.IO.Out).Encode(out)
	}
	key := "file " + out.KeyFile
	if out.Key == devicecert.KeyTPM {
		key = "TPM, persistent handle " + out.KeyHandle
	}
	if out.KeyCreated {
		key += " (created now)"
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Hardware ID:\t%s\n", out.HardwareID)
	fmt.Fprintf(tw, "Key:\t%s\n", key)
	fmt.Fprintf(tw, "Certificate:\tserial %s, issued by %s, valid until %s\n", out.Serial, out.Issuer, out.NotAfter.Format(time.DateOnly))
	fmt.Fprintf(tw, "SHA-256:\t%s\n", out.Fingerprint)
	stored := out.ChainFile
	if out.Unchanged {
		stored += " (unchanged)"
	}
	fmt.Fprintf(tw, "Chain stored in:\t%s\n", stored)
	return tw.Flush()
}

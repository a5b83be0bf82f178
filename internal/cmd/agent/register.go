package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/onboard"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

// Environment variables `register` reads.
const (
	envIDScope      = "OOB_ID_SCOPE"
	envSymmetricKey = "OOB_SYMMETRIC_KEY"
)

// RegisterOptions are the inputs of `oob-agent register`.
type RegisterOptions struct {
	IO     *cli.IOStreams
	TPM    tpmOptions
	Format *cli.FormatFlag

	IDScope        string
	Endpoint       string
	CAFile         string
	RegistrationID string
	PayloadFile    string
	Timeout        time.Duration

	HubAddress string
	NoHub      bool

	X509Cert, X509Key string
	SymmetricKeyFile  string
	GroupKey          bool
}

// NewCmdRegister returns `oob-agent register`. runF replaces the run function in tests.
func NewCmdRegister(ios *cli.IOStreams, runF func(context.Context, *RegisterOptions) error) *cobra.Command {
	opts := &RegisterOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "register --id-scope SCOPE",
		Short: "Register this device with DPS and report where it was assigned",
		Long: `Register the device with the Device Provisioning Service, wait for its decision, and
once assigned connect to the IoT hub as the device and report a "provisioning"
property in its twin: the proof that the device can work.

With the TPM (the default), DPS answers the first request with a key only this TPM can
import; the agent imports it, signs its requests inside the TPM, and once assigned
imports the device's IoT Hub key the same way: no key ever leaves the TPM. With
--x509-cert/--x509-key the certificate is the proof; with --symmetric-key-file the
enrollment's key (or, with --group-key, the enrollment group's, from which the
device's key is derived). With --no-hub it stops once DPS has decided, without
connecting to the hub (a TPM still imports the hub key, for the next connection).

Exit status: 0 assigned; 3 not enrolled (DPS knows no enrollment for this device and
key: enroll it, then run again); 5 enrollment disabled (enable it, then run again);
1 any other failure, including DPS's own "failed" with its error code; 2 usage.

The ID scope comes from --id-scope or OOB_ID_SCOPE. Keys come from files or the
environment (OOB_SYMMETRIC_KEY), never from the command line.`,
		Example: `  oob-agent register --id-scope 0ne00A1B2C3
  oob-agent register --tpm tcp://127.0.0.1:2321 --id-scope 0ne00A1B2C3 \
      --endpoint localhost:8443 --ca-file /var/lib/dps/ca.pem --format json
  oob-agent register --id-scope 0ne00A1B2C3 --registration-id sensor-7 --symmetric-key-file key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.check(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return registerRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.TPM.register(f)
	f.StringVar(&opts.IDScope, "id-scope", os.Getenv(envIDScope), "the DPS instance's ID scope (default: $"+envIDScope+")")
	f.StringVar(&opts.Endpoint, "endpoint", provision.GlobalEndpoint, "DPS device endpoint: HOST[:PORT] or https URL")
	f.StringVar(&opts.CAFile, "ca-file", "", "trust only this PEM CA for DPS's and the hub's TLS certificates (a private DPS such as the emulator)")
	f.StringVar(&opts.HubAddress, "hub-address", "", "dial the assigned hub at this HOST:PORT instead of HUB:8883 (its certificate must still name HUB)")
	f.BoolVar(&opts.NoHub, "no-hub", false, "stop once DPS has assigned the device: no hub connection, hubConnected false")
	f.StringVar(&opts.RegistrationID, "registration-id", "", "registration ID (default: derived from the EK; an X.509 certificate's common name)")
	f.StringVar(&opts.PayloadFile, "payload", "", "send this JSON file's object to DPS's custom allocation webhook")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "give up after this long, DPS's waits included")
	f.StringVar(&opts.X509Cert, "x509-cert", "", "attest with this PEM client certificate (and --x509-key) instead of the TPM")
	f.StringVar(&opts.X509Key, "x509-key", "", "the certificate's PEM private key, in a 0600 file")
	f.StringVar(&opts.SymmetricKeyFile, "symmetric-key-file", "", "attest with the base64 key in this 0600 file (or $"+envSymmetricKey+") instead of the TPM")
	f.BoolVar(&opts.GroupKey, "group-key", false, "the symmetric key is an enrollment group's: derive this device's key from it")
	f.Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

// check refuses contradictory flags before anything is opened.
func (o *RegisterOptions) check(cmd *cobra.Command) error {
	if o.IDScope == "" {
		return cli.Usagef("give the DPS ID scope with --id-scope or %s (the DPS instance's overview page shows it)", envIDScope)
	}
	if (o.X509Cert == "") != (o.X509Key == "") {
		return cli.Usagef("--x509-cert and --x509-key go together")
	}
	symmetric := o.SymmetricKeyFile != "" || os.Getenv(envSymmetricKey) != ""
	if o.X509Cert != "" && symmetric {
		return cli.Usagef("choose one attestation: the TPM (default), --x509-cert, or a symmetric key")
	}
	if o.GroupKey && !symmetric {
		return cli.Usagef("--group-key applies to a symmetric key (--symmetric-key-file or %s)", envSymmetricKey)
	}
	if symmetric && o.RegistrationID == "" {
		return cli.Usagef("a symmetric key needs --registration-id")
	}
	if (o.X509Cert != "" || symmetric) && cmd.Flags().Changed("tpm") {
		return cli.Usagef("--tpm applies to TPM attestation, not with --x509-cert or a symmetric key")
	}
	if o.NoHub && cmd.Flags().Changed("hub-address") {
		return cli.Usagef("--hub-address names the hub to connect to; --no-hub connects to none")
	}
	if o.Timeout <= 0 {
		return cli.Usagef("--timeout must be positive")
	}
	return nil
}

// registerJSON is the stable JSON shape of `register --format json`.
type registerJSON struct {
	Status         dpsapi.RegistrationStatus `json:"status"`
	RegistrationID string                    `json:"registrationId"`
	AssignedHub    string                    `json:"assignedHub,omitempty"`
	DeviceID       string                    `json:"deviceId,omitempty"`
	Substatus      string                    `json:"substatus,omitempty"`
	ErrorCode      int                       `json:"errorCode,omitempty"`
	ErrorMessage   string                    `json:"errorMessage,omitempty"`
	Payload        json.RawMessage           `json:"payload,omitempty"`
	HubConnected   bool                      `json:"hubConnected"`
	Attestation    string                    `json:"attestation"`
}

func registerRun(ctx context.Context, opts *RegisterOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	cfg := provision.Config{IDScope: opts.IDScope, Endpoint: opts.Endpoint, RegistrationID: opts.RegistrationID}
	if opts.CAFile != "" {
		pool, err := cafile.Load(opts.CAFile)
		if err != nil {
			return err
		}
		cfg.RootCAs = pool
	}
	if opts.PayloadFile != "" {
		b, err := os.ReadFile(opts.PayloadFile)
		if err != nil {
			return fmt.Errorf("--payload: %w", err)
		}
		if !json.Valid(b) {
			return fmt.Errorf("--payload %s is not JSON", opts.PayloadFile)
		}
		cfg.Payload = b
	}
	out := registerJSON{}
	closeTPM, err := opts.attestation(ctx, &cfg, &out)
	if err != nil {
		return err
	}
	defer closeTPM()

	// With DPS's answer, err is the hub's failure when there was one.
	var res *provision.Result
	if opts.NoHub {
		res, err = provision.Register(ctx, cfg)
	} else {
		res, err = onboard.Register(ctx, onboard.Config{Provision: cfg, HubAddress: opts.HubAddress})
	}
	if res == nil {
		if errors.Is(err, provision.ErrNotEnrolled) {
			return &cli.NotFoundError{Err: err}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: DPS did not decide within --timeout %s", err, opts.Timeout)
		}
		return err
	}
	out.Status, out.RegistrationID = res.Status, res.RegistrationID
	out.AssignedHub, out.DeviceID, out.Substatus = res.AssignedHub, res.DeviceID, res.Substatus
	out.ErrorCode, out.ErrorMessage, out.Payload = res.ErrorCode, res.ErrorMessage, res.Payload
	out.HubConnected = res.Assigned() && err == nil && !opts.NoHub
	if perr := printRegistration(opts, out); perr != nil {
		return perr
	}
	switch res.Status {
	case dpsapi.RegistrationAssigned:
		return err
	case dpsapi.RegistrationDisabled:
		return &cli.DisabledError{Err: fmt.Errorf("the enrollment of %s is disabled: enable it (companion enrollment enable %s), then run again", res.RegistrationID, res.RegistrationID)}
	}
	return fmt.Errorf("DPS could not assign %s: error %d: %s", res.RegistrationID, res.ErrorCode, res.ErrorMessage)
}

// attestation completes cfg with the chosen attestation, opening the TPM when it is the TPM's.
// The returned function releases what was opened.
func (o *RegisterOptions) attestation(ctx context.Context, cfg *provision.Config, out *registerJSON) (func(), error) {
	switch {
	case o.X509Cert != "":
		keyPEM, err := cli.Secret("", o.X509Key)
		if err != nil {
			return nil, fmt.Errorf("--x509-key: %w", err)
		}
		certPEM, err := os.ReadFile(o.X509Cert)
		if err != nil {
			return nil, fmt.Errorf("--x509-cert: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("--x509-cert/--x509-key are not a PEM certificate and its key: %w", err)
		}
		cfg.Certificate = &cert
		out.Attestation = "x509"
		return func() {}, nil
	case o.SymmetricKeyFile != "" || os.Getenv(envSymmetricKey) != "":
		b, err := cli.Secret(envSymmetricKey, o.SymmetricKeyFile)
		if err != nil {
			return nil, fmt.Errorf("symmetric key: %w", err)
		}
		key, err := sas.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("symmetric key: %w", err)
		}
		if o.GroupKey {
			key = key.DeriveDeviceKey(o.RegistrationID)
		}
		cfg.SymmetricKey = &key
		out.Attestation = "symmetricKey"
		return func() {}, nil
	}
	t, err := o.TPM.open(ctx)
	if err != nil {
		return nil, err
	}
	dt, err := t.Attestation(ctx)
	if err != nil {
		t.Close()
		return nil, err
	}
	cfg.TPM = dt
	out.Attestation = "tpm"
	return func() { t.Close() }, nil
}

func printRegistration(opts *RegisterOptions, out registerJSON) error {
	if opts.Format.Value == cli.FormatJSON {
		return json.NewEncoder(opts.IO.Out).Encode(out)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", name, value)
		}
	}
	field("Status", string(out.Status))
	field("Registration ID", out.RegistrationID)
	field("Attestation", out.Attestation)
	field("Assigned hub", out.AssignedHub)
	field("Device ID", out.DeviceID)
	field("Substatus", out.Substatus)
	if out.ErrorCode != 0 {
		field("Error", fmt.Sprintf("%d: %s", out.ErrorCode, out.ErrorMessage))
	}
	if out.Status == dpsapi.RegistrationAssigned {
		connected := "no"
		if out.HubConnected {
			connected = "yes"
		}
		field("Hub connected", connected)
	}
	return tw.Flush()
}

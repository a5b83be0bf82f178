package companion

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

// EnrollOptions are the inputs of `companion enroll`.
type EnrollOptions struct {
	IO      *cli.IOStreams
	Service ServiceFlags
	Format  *cli.FormatFlag

	Image          string
	Payload        string
	RegistrationID string
	EndorsementKey string

	From          string
	RequireEKCert bool
	TPMRoots      string
	Journal       string

	Settings SettingsFlags
	Replace  bool
}

// NewCmdEnroll returns `companion enroll`. runF replaces the run function in tests.
func NewCmdEnroll(ios *cli.IOStreams, runF func(context.Context, *EnrollOptions) error) *cobra.Command {
	opts := &EnrollOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "enroll {--image FILE | --payload TEXT | --registration-id ID --endorsement-key B64 | --from FILE}",
		Short: "Create a device's DPS individual enrollment from its identity code",
		Long: `Create the DPS individual enrollment (TPM attestation) of one device, from a photo
or screenshot of its identity code (--image), the code's text (--payload), or a
registration ID and endorsement key given directly (base64 TPM2B_PUBLIC, as
tpm2_readpublic -f tss writes it). The identity is checked before anything is sent.

Enrolling is safe to repeat: a device that is already enrolled with the same key is
reported as already enrolled and nothing changes, whatever the other options say.
A registration ID enrolled with a different key is refused (exit status 4) and
nothing changes; --replace overwrites it, and shows the key it replaced.

The result is the enrollment as DPS holds it; --format json prints
{"outcome": "created|already-enrolled|replaced|updated", "enrollment": {…}} for scripts.
` + enrollFromHelp + serviceHelp,
		Example: `  export DPS_CONNECTION_STRING='HostName=…;SharedAccessKeyName=…;SharedAccessKey=…'
  companion enroll --image device.png --iot-hub factory.azure-devices.net --tag line=4
  companion enroll --payload 'OOB1:M…' --disabled --format json
  companion enroll --registration-id dev-0042 --endorsement-key "$(base64 -w0 ek.pub)" --edge
  companion enroll --from devices.jsonl --require-ek-cert --tpm-roots /etc/oob/tpm-roots --tag line=4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.checkSources(); err != nil {
				return err
			}
			if opts.From != "" {
				if err := opts.checkFrom(); err != nil {
					return err
				}
			} else if opts.RequireEKCert || opts.TPMRoots != "" || opts.Journal != "" {
				return cli.Usagef("--require-ek-cert, --tpm-roots and --journal go with --from")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			if opts.From != "" {
				return enrollFromRun(cmd.Context(), opts)
			}
			return enrollRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Image, "image", "", "read the identity code from this image (PNG, JPEG or GIF; - for standard input)")
	f.StringVar(&opts.Payload, "payload", "", "the identity code's text, as decoded")
	f.StringVar(&opts.RegistrationID, "registration-id", "", "the registration ID, with --endorsement-key")
	f.StringVar(&opts.EndorsementKey, "endorsement-key", "", "the EK as base64 TPM2B_PUBLIC, with --registration-id")
	f.StringVar(&opts.From, "from", "", "enroll every device of this file: JSON lines (oob-agent identity --format json) or CSV")
	f.BoolVar(&opts.RequireEKCert, "require-ek-cert", false, "with --from: refuse a row whose EK is not certified by a TPM maker in --tpm-roots")
	f.StringVar(&opts.TPMRoots, "tpm-roots", "", "with --require-ek-cert: a folder of TPM makers' root and intermediate certificates (PEM or DER)")
	journalFlag(f, &opts.Journal)
	f.StringVar(&opts.Settings.DeviceID, "device-id", "", "IoT Hub device ID (default: the registration ID)")
	opts.Settings.register(f)
	f.BoolVar(&opts.Replace, "replace", false, "overwrite an existing enrollment for this registration ID, even one with a different key")
	f.Var(opts.Format, "format", opts.Format.Usage())
	opts.Service.register(f)
	return cmd
}

// checkSources checks that exactly one way of giving the identity was used.
func (o *EnrollOptions) checkSources() error {
	n := 0
	for _, set := range []bool{o.Image != "", o.Payload != "", o.RegistrationID != "" || o.EndorsementKey != "", o.From != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return cli.Usagef("give the device's identity: --image FILE, --payload TEXT, or --registration-id with --endorsement-key; or many devices with --from FILE")
	case n > 1:
		return cli.Usagef("give the device's identity one way only: --image, --payload, --registration-id with --endorsement-key, or --from")
	case (o.RegistrationID == "") != (o.EndorsementKey == ""):
		return cli.Usagef("--registration-id and --endorsement-key go together")
	}
	return nil
}

// enrollJSON is the stable JSON shape of `enroll --format json`.
type enrollJSON struct {
	Outcome                enroll.Outcome               `json:"outcome"`
	Enrollment             *dpsapi.IndividualEnrollment `json:"enrollment"`
	PreviousEndorsementKey string                       `json:"previousEndorsementKey,omitempty"`
}

func enrollRun(ctx context.Context, opts *EnrollOptions) error {
	id, err := opts.identity(ctx)
	if err != nil {
		return err
	}
	settings, err := opts.Settings.settings()
	if err != nil {
		return err
	}
	// Check everything before contacting DPS: a bad code never reaches the service. The
	// identity was checked as it was read.
	if err := settings.Validate(); err != nil {
		return err
	}
	c, ctx, cancel, err := opts.Service.client(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	res, err := enroll.Enroll(ctx, c, id, settings, enroll.Options{Replace: opts.Replace})
	if errors.Is(err, enroll.ErrConflict) {
		return &cli.ConflictError{Err: err}
	}
	if err != nil {
		return timeoutHint(err, opts.Service.Timeout)
	}
	if opts.Format.Value == cli.FormatJSON {
		return json.NewEncoder(opts.IO.Out).Encode(enrollJSON{res.Outcome, res.Enrollment, res.PreviousEndorsementKey})
	}
	return printEnrollResult(opts.IO, res, id.Label())
}

// identity returns the device identity from whichever source was given, verified.
func (o *EnrollOptions) identity(ctx context.Context) (identity.Verified, error) {
	switch {
	case o.Payload != "":
		return identity.Parse(o.Payload)
	case o.Image != "":
		return identityFromImage(ctx, o.IO, o.Image)
	}
	ek, err := base64.StdEncoding.DecodeString(o.EndorsementKey)
	if err != nil {
		return identity.Verified{}, fmt.Errorf("--endorsement-key is not standard base64: give the TPM2B_PUBLIC as `base64 -w0` prints it")
	}
	return identity.Verify(identity.Identity{RegistrationID: o.RegistrationID, EndorsementKey: ek})
}

// identityFromImage decodes the one device identity an image shows.
func identityFromImage(ctx context.Context, ios *cli.IOStreams, path string) (identity.Verified, error) {
	if err := ctx.Err(); err != nil {
		return identity.Verified{}, err
	}
	img, err := loadImage(ctx, ios.In, path)
	if err != nil {
		return identity.Verified{}, err
	}
	results, err := reader.Decode(img)
	if errors.Is(err, reader.ErrNotFound) {
		return identity.Verified{}, &cli.NotFoundError{Err: fmt.Errorf("%s: no QR code found: hold the code flat, fill more of the frame, avoid glare", path)}
	}
	if err != nil {
		return identity.Verified{}, fmt.Errorf("%s: %w", path, err)
	}
	var found []identity.Verified
	seen := map[string]bool{}
	var firstErr error
	for _, r := range results {
		id, err := identity.Parse(r.Text)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !seen[id.RegistrationID()] {
			seen[id.RegistrationID()] = true
			found = append(found, id)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return identity.Verified{}, fmt.Errorf("%s shows %d different device identities: photograph one device at a time", path, len(found))
	}
	return identity.Verified{}, &cli.NotFoundError{Err: fmt.Errorf("%s: %w", path, firstErr)}
}

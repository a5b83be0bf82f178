package agent

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr"
)

// IdentityOptions are the inputs of `oob-agent identity`.
type IdentityOptions struct {
	IO       *cli.IOStreams
	TPM      tpmOptions
	Identity identityOptions
	Format   *cli.FormatFlag
}

// NewCmdIdentity returns `oob-agent identity`. runF replaces the run function in tests.
func NewCmdIdentity(ios *cli.IOStreams, runF func(context.Context, *IdentityOptions) error) *cobra.Command {
	opts := &IdentityOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON, cli.FormatCSV)}
	cmd := &cobra.Command{
		Use:   "identity",
		Short: "Print the device's TPM identity: registration ID, EK, SRK and EK certificate",
		Long: `Print the device's TPM identity as DPS needs it for an individual enrollment.

The endorsement key (EK) is read from the persistent handle 0x81010001 and the
storage root key (SRK) from 0x81000001; either is created with the standard
template and persisted when absent. Keys are printed as standard base64 of their
TPM2B_PUBLIC, size prefix included, which is what DPS expects. The registration ID
is derived from the EK as Microsoft's tools derive it, unless --registration-id
sets one. The EK certificate is printed when the manufacturer provisioned one,
with the TPM's maker, model and firmware version as the certificate names them,
and a warning when the certificate certifies another key than the EK (the EK was
regenerated after manufacture: DPS's verifiers and 'companion enroll
--require-ek-cert' will refuse it).`,
		Example: `  oob-agent identity
  oob-agent identity --tpm tcp://127.0.0.1:2321 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return identityRun(cmd.Context(), opts)
		},
	}
	opts.TPM.register(cmd.Flags())
	opts.Identity.register(cmd.Flags())
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

// identityJSON is the stable JSON shape of `identity --format json`.
type identityJSON struct {
	RegistrationID        string `json:"registrationId"`
	RegistrationIDDerived bool   `json:"registrationIdDerived"`
	EndorsementKey        string `json:"endorsementKey"`
	StorageRootKey        string `json:"storageRootKey"`
	EKCertificate         string `json:"ekCertificate,omitempty"`
	// EKCertificateInfo is the certificate read: the TPM's maker, model and firmware, and
	// whether it certifies this EK.
	EKCertificateInfo *ekCertJSON `json:"ekCertificateInfo,omitempty"`
	Label             string      `json:"label,omitempty"`
	Payload           string      `json:"payload"`
	QRVersion         int         `json:"qrVersion"`
}

func identityRun(ctx context.Context, opts *IdentityOptions) error {
	id, err := readIdentity(ctx, opts.TPM, opts.Identity)
	if err != nil {
		return err
	}
	payload, err := identity.Encode(id, identity.FormatV1)
	if err != nil {
		return err
	}
	code, err := qr.Encode(payload, qr.LevelM)
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	out := identityJSON{
		RegistrationID:        id.RegistrationID,
		RegistrationIDDerived: id.Derived(),
		EndorsementKey:        b64(id.EndorsementKey),
		StorageRootKey:        b64(id.StorageRootKey),
		Label:                 id.Label,
		Payload:               payload,
		QRVersion:             code.Version,
	}
	if len(id.EKCertificate) > 0 {
		out.EKCertificate = b64(id.EKCertificate)
		out.EKCertificateInfo = describeEKCert(id.EKCertificate, id.EndorsementKey)
	}
	if info := out.EKCertificateInfo; info != nil && info.Problem != "" {
		fmt.Fprintf(opts.IO.ErrOut, "warning: EK certificate: %s\n", info.Problem)
	}
	w := opts.IO.Out
	switch opts.Format.Value {
	case cli.FormatJSON:
		enc := json.NewEncoder(w)
		return enc.Encode(out)
	case cli.FormatCSV:
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"registrationId", "endorsementKey", "storageRootKey", "ekCertificate", "label"})
		_ = cw.Write([]string{out.RegistrationID, out.EndorsementKey, out.StorageRootKey, out.EKCertificate, out.Label})
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		source := "derived from the EK"
		if !out.RegistrationIDDerived {
			source = "chosen by the OEM"
		}
		fmt.Fprintf(tw, "Registration ID:\t%s (%s)\n", out.RegistrationID, source)
		if out.Label != "" {
			fmt.Fprintf(tw, "Label:\t%s\n", out.Label)
		}
		fmt.Fprintf(tw, "Endorsement key:\t%s\n", out.EndorsementKey)
		fmt.Fprintf(tw, "Storage root key:\t%s\n", out.StorageRootKey)
		if out.EKCertificate != "" {
			fmt.Fprintf(tw, "EK certificate:\t%d bytes (DER); --format json prints it\n", len(id.EKCertificate))
			writeEKCertText(tw, out.EKCertificateInfo)
		} else {
			fmt.Fprintf(tw, "EK certificate:\tnone provisioned\n")
		}
		fmt.Fprintf(tw, "QR payload:\tversion %d at level M (%d characters)\n", out.QRVersion, len(payload))
		return tw.Flush()
	}
}

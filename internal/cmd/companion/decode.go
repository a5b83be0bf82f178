package companion

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // decode GIF frames too
	_ "image/jpeg" // camera stills are mostly JPEG
	_ "image/png"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

// DecodeOptions are the inputs of `companion decode`.
type DecodeOptions struct {
	IO       *cli.IOStreams
	Images   []string
	Payloads []string
	Raw      bool
	Format   *cli.FormatFlag
}

// NewCmdDecode returns `companion decode`. runF replaces the run function in tests.
func NewCmdDecode(ios *cli.IOStreams, runF func(context.Context, *DecodeOptions) error) *cobra.Command {
	opts := &DecodeOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "decode [IMAGE...]",
		Short: "Decode device identity QR codes from images or text, and check them",
		Long: `Decode every QR code in the given images (PNG, JPEG or GIF; - reads standard input)
and check each as a device identity: the EK must be an RSA-2048 restricted decryption
key in TPM2B_PUBLIC form, and a registration ID derived from it must match. Both the
compact v1 payload and the original sample's JSON are read.

One result is printed per code found; codes that are not valid identities are
reported on standard error. The exit status is 3 when no valid identity was found.

--raw prints each code's contents exactly as decoded, nothing interpreted, one per
line: for diagnosing foreign codes and for comparing decoders.`,
		Example: `  companion decode device.png
  companion decode --format json frames/*.jpg
  companion decode --payload 'OOB1:M2354…'
  companion decode --raw photo.jpg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			if len(opts.Images) == 0 && len(opts.Payloads) == 0 {
				return cli.Usagef("give at least one IMAGE or --payload TEXT")
			}
			if opts.Raw && len(opts.Payloads) > 0 {
				return cli.Usagef("--raw applies to images; --payload text is already raw")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return decodeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Payloads, "payload", nil, "check this payload text instead of an image (repeatable)")
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "print each code's contents exactly as decoded, without checking them")
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

// decodedJSON is the stable JSON shape of one identity found by `decode --format json`.
type decodedJSON struct {
	Source                string `json:"source"`
	RegistrationID        string `json:"registrationId"`
	RegistrationIDDerived bool   `json:"registrationIdDerived"`
	EndorsementKey        string `json:"endorsementKey"`
	Label                 string `json:"label,omitempty"`
}

func decodeRun(ctx context.Context, opts *DecodeOptions) error {
	valid, seen := 0, 0
	report := func(source, text string) {
		seen++
		id, err := identity.Parse(text)
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "%s: %v\n", source, err)
			return
		}
		valid++
		if err := printIdentity(opts.IO.Out, opts.Format.Value, source, id.Identity()); err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "%s: %v\n", source, err)
		}
	}
	for i, p := range opts.Payloads {
		report(fmt.Sprintf("payload %d", i+1), p)
	}
	for _, path := range opts.Images {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, err := loadImage(opts.IO.In, path)
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "%s: %v\n", path, err)
			continue
		}
		results, err := reader.Decode(img)
		if errors.Is(err, reader.ErrNotFound) {
			fmt.Fprintf(opts.IO.ErrOut, "%s: no QR code found: hold the code flat, fill more of the frame, avoid glare\n", path)
			continue
		}
		if err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "%s: %v\n", path, err)
			continue
		}
		for n, r := range results {
			source := path
			if len(results) > 1 {
				source = fmt.Sprintf("%s#%d", path, n+1)
			}
			if opts.Raw {
				seen++
				valid++
				fmt.Fprintf(opts.IO.Out, "%s\n", r.Text)
				continue
			}
			report(source, r.Text)
		}
	}
	if valid == 0 {
		if opts.Raw {
			return fmt.Errorf("%w: no QR code decoded", cli.ErrNothingFound)
		}
		return fmt.Errorf("%w: no valid device identity among %d code(s) read", cli.ErrNothingFound, seen)
	}
	return nil
}

func loadImage(stdin io.Reader, path string) (image.Image, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("cannot open image: %w", err)
		}
		defer f.Close()
		r = f
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("not a readable image (PNG, JPEG or GIF): %w", err)
	}
	return img, nil
}

func printIdentity(w io.Writer, f cli.Format, source string, id identity.Identity) error {
	out := decodedJSON{
		Source:                source,
		RegistrationID:        id.RegistrationID,
		RegistrationIDDerived: id.Derived(),
		EndorsementKey:        base64.StdEncoding.EncodeToString(id.EndorsementKey),
		Label:                 id.Label,
	}
	if f == cli.FormatJSON {
		return json.NewEncoder(w).Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	src := "derived from the EK"
	if !out.RegistrationIDDerived {
		src = "chosen by the OEM"
	}
	fmt.Fprintf(tw, "%s:\tvalid device identity\n", source)
	fmt.Fprintf(tw, "  Registration ID:\t%s (%s)\n", out.RegistrationID, src)
	if out.Label != "" {
		fmt.Fprintf(tw, "  Label:\t%s\n", out.Label)
	}
	fmt.Fprintf(tw, "  Endorsement key:\t%s\n", out.EndorsementKey)
	return tw.Flush()
}

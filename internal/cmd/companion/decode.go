package companion

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/imagefile"
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
reported on standard error. So is each file that is not a readable image, saying
why (a directory, a named pipe or device, an empty file, an image of more than
8192×8192 pixels, which is refused from its header before it is decoded), and
the others are still read. The exit status is 3 when no valid identity was found.

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
	// A photo's decode allocates a few MiB that die with it: collecting them as the heap first
	// reaches 4 MiB, mid-decode, cost a one-photo process 2–4 ms, where collecting at five times
	// the live heap lets it end first and still bounds the memory of a long list of images.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
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
			return fmt.Errorf("interrupted before %s: %w", path, err)
		}
		img, err := loadImage(ctx, opts.IO.In, path)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted while reading %s: %w", path, ctx.Err())
			}
			fmt.Fprintln(opts.IO.ErrOut, err)
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

// loadImage reads the image at path, or standard input for "-", through imagefile: what is not
// a regular file and images too large to read are refused before anything is decoded, and a
// read waiting on standard input gives way to Ctrl-C. Errors name the path.
func loadImage(ctx context.Context, stdin io.Reader, path string) (image.Image, error) {
	if path == "-" {
		return imagefile.Read(ctx, stdin, "standard input")
	}
	return imagefile.Open(ctx, path)
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

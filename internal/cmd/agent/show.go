package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/display"
	"github.com/oobtpm/oob/pkg/identity"
)

// Outputs of `oob-agent show`.
const (
	outputTerminal    = display.OutputTerminal
	outputFramebuffer = display.OutputFramebuffer
	outputPNG         = display.OutputPNG
)

// ShowOptions are the inputs of `oob-agent show`.
type ShowOptions struct {
	IO            *cli.IOStreams
	TPM           tpmOptions
	Identity      identityOptions
	Output        string
	File          string
	FBDevice      string
	FBMode        string
	FullScreen    bool
	PayloadFormat string
	Title         string
	Status        string
	Format        *cli.FormatFlag
}

// NewCmdShow returns `oob-agent show`. runF replaces the run function in tests.
func NewCmdShow(ios *cli.IOStreams, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the device's identity as a QR code on the terminal, the framebuffer, or in a PNG",
		Long: `Show the device's TPM identity as a QR code for the technician's companion to scan.

The code holds the compact v1 payload (see docs/payload.md): the EK in its smallest
faithful form and, when set, an OEM registration ID and a label. It fits a QR code
of version 12 at error-correction level M. --payload-format legacy writes the
original sample's JSON instead, for older companions (a larger, denser code).

Outputs:
  terminal     half-block characters, dark on light whatever the terminal's colours,
               printed after what the terminal already shows; --fullscreen clears
               the terminal and centres the code instead (for a console given over
               to the agent)
  framebuffer  the Linux framebuffer (--fb, default /dev/fb0), the code as large as fits;
               --fb-mode WIDTHxHEIGHTxBPP[:STRIDE] draws into a plain file instead
  png          a PNG image (--file PATH, or - for standard output)`,
		Example: `  oob-agent show
  oob-agent show --fullscreen
  oob-agent show --output framebuffer
  oob-agent show --tpm tcp://127.0.0.1:2321 --output png --file qr.png --label "LINE 3"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.Output {
			case outputTerminal, outputFramebuffer:
			case outputPNG:
				if opts.File == "" {
					return cli.Usagef("--output png needs --file PATH (or --file - for standard output)")
				}
			default:
				return cli.Usagef("unknown output %q: use terminal, framebuffer or png", opts.Output)
			}
			if opts.FullScreen && opts.Output != outputTerminal {
				return cli.Usagef("--fullscreen is for --output terminal; %s output always fills its screen", opts.Output)
			}
			if _, err := identity.ParseFormat(opts.PayloadFormat); err != nil {
				return &cli.UsageError{Err: err}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
	opts.TPM.register(cmd.Flags())
	opts.Identity.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&opts.Output, "output", outputTerminal, "where to show the code: terminal, framebuffer or png")
	f.StringVar(&opts.File, "file", "", "PNG file to write with --output png (- for standard output)")
	f.StringVar(&opts.FBDevice, "fb", "/dev/fb0", "framebuffer device for --output framebuffer")
	f.StringVar(&opts.FBMode, "fb-mode", "", "framebuffer geometry WIDTHxHEIGHTxBPP[:STRIDE], for a plain file standing in for a device")
	f.BoolVar(&opts.FullScreen, "fullscreen", false, "with --output terminal: clear the terminal and centre the code on it")
	f.StringVar(&opts.PayloadFormat, "payload-format", "v1", "QR payload format: v1 (compact) or legacy (the original sample's JSON)")
	f.StringVar(&opts.Title, "title", "Scan to enroll this device", "title shown above the code")
	f.StringVar(&opts.Status, "status", "Waiting for enrollment", "status line shown below the code")
	f.Var(opts.Format, "format", "summary format for png and framebuffer outputs: text|json")
	return cmd
}

// showSummary is the stable JSON shape printed after a PNG or framebuffer was written.
type showSummary struct {
	RegistrationID string `json:"registrationId"`
	PayloadFormat  string `json:"payloadFormat"`
	Payload        string `json:"payload"`
	QRVersion      int    `json:"qrVersion"`
	Modules        int    `json:"modules"`
	Output         string `json:"output"`
	Target         string `json:"target,omitempty"`
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	format, err := identity.ParseFormat(opts.PayloadFormat)
	if err != nil {
		return err
	}
	id, err := readIdentity(ctx, opts.TPM, opts.Identity)
	if err != nil {
		return err
	}
	payload, err := identity.Encode(id, format)
	if err != nil {
		return err
	}
	screen, err := display.CodeScreen(opts.Title, payload, id.RegistrationID)
	if err != nil {
		return err
	}
	screen.Status = opts.Status
	summary := showSummary{
		RegistrationID: id.RegistrationID, PayloadFormat: opts.PayloadFormat, Payload: payload,
		QRVersion: screen.Code.Version, Modules: screen.Code.Size(), Output: opts.Output,
	}
	target := display.Target{Output: opts.Output, Out: opts.IO.Out, FullScreen: opts.FullScreen, Framebuffer: opts.FBDevice, File: opts.File}
	switch opts.Output {
	case outputTerminal:
		if c, r, ok := opts.IO.TermSize(); ok {
			target.Size = display.TermSize{Cols: c, Rows: r}
		}
	case outputPNG:
		summary.Target = opts.File
	case outputFramebuffer:
		summary.Target = opts.FBDevice
		if opts.FBMode != "" {
			m, err := display.ParseFBMode(opts.FBMode)
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			target.Mode = &m
		}
	}
	if err := display.Show(screen, target); err != nil {
		return err
	}
	if opts.Output == outputTerminal || opts.Output == outputPNG && opts.File == "-" {
		return nil // standard output holds the code
	}
	return printSummary(opts.IO.Out, opts.Format.Value, summary)
}

func printSummary(w io.Writer, f cli.Format, s showSummary) error {
	if f == cli.FormatJSON {
		return json.NewEncoder(w).Encode(s)
	}
	_, err := fmt.Fprintf(w, "QR code for %s written to %s (version %d, %d×%d modules, %s payload)\n",
		s.RegistrationID, s.Target, s.QRVersion, s.Modules, s.Modules, s.PayloadFormat)
	return err
}

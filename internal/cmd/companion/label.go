package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/atomicfile"
	"github.com/oobtpm/oob/pkg/boxlabel"
	"github.com/oobtpm/oob/pkg/identity"
)

// Label output kinds.
const (
	labelPDF cli.Format = "pdf"
	labelPNG cli.Format = "png"
	labelZPL cli.Format = "zpl"
)

// LabelOptions are the inputs of `companion label`.
type LabelOptions struct {
	IO      *cli.IOStreams
	From    string
	Format  *cli.FormatFlag
	Output  string
	Size    string
	DPI     int
	Sheet   string
	Summary *cli.FormatFlag

	media boxlabel.Media
}

// NewCmdLabel returns `companion label`. runF replaces the run function in tests.
func NewCmdLabel(ios *cli.IOStreams, runF func(context.Context, *LabelOptions) error) *cobra.Command {
	opts := &LabelOptions{IO: ios,
		Format:  &cli.FormatFlag{Value: labelPDF, Allowed: []cli.Format{labelPDF, labelPNG, labelZPL}},
		Summary: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "label --from FILE --output PATH [--format pdf|png|zpl]",
		Short: "Print box labels of devices' identity QR codes, for scanning or enrolling later",
		Long: `Make a box label for each device of FILE: the device's identity QR code, the same
v1 payload 'oob-agent show' puts on its screen, and its registration ID (and label,
when it has one) in text. 'companion scan' and 'companion decode' read the box later
as they read the device's screen, and enroll it.

FILE is what 'companion enroll --from' takes: JSON lines as 'oob-agent identity
--format json' prints them, or CSV registrationId,endorsementKey,ekCertificate,
deviceId,tags. Every row is checked first, as enroll checks it; a JSON line's payload
must also be the one its endorsement key, registration ID and label make. If any
row is bad, each is reported by its line number and no label is written.

--format pdf (the default) writes one PDF, one label per page at the label's size,
for label printers driven by a PDF print dialog; --sheet a4 tiles the labels on A4
pages instead. --format png writes a folder of PNG images, REGISTRATION-ID.png.
--format zpl writes Zebra ZPL II, one ^XA…^XZ format per label, to a file or to
standard output (--output -), e.g. for 'nc printer 9100' or 'lp -o raw'.

Labels are --size WIDTHxHEIGHTmm (default 50x30mm) at the printer's --dpi (203
or 300; default 203). The QR code's modules are a whole number of dots, its quiet
zone kept, so give the resolution of the printer that prints them. In ZPL the code
is a ^GFA graphic of exactly those dots, not ^BQ: the printer's own encoder could
choose another QR version or mask than the one the device shows, and its module
size is whatever ^BQ's magnification gives.

A summary is printed at the end (--summary json: one JSON object), on standard
output, or on standard error when the ZPL goes to standard output. On a terminal,
progress is shown on standard error. Exit status 1 when a row is bad (nothing is
written), 2 for wrong options or a label too small for the code.`,
		Example: `  oob-agent identity --format json >> line4.jsonl     # on each device
  companion label --from line4.jsonl --output line4.pdf
  companion label --from line4.jsonl --format pdf --size 62x29mm --dpi 300 --output line4.pdf
  companion label --from line4.jsonl --format pdf --sheet a4 --size 70x37mm --output sheets.pdf
  companion label --from devices.csv --format zpl --output - | nc -q1 zebra.local 9100
  companion label --from devices.csv --format png --output labels/ --summary json
  companion decode labels/*.png                             # what the box will scan as`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labelRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.From, "from", "", "the devices: JSON lines from oob-agent identity --format json, or CSV as for enroll --from")
	f.Var(opts.Format, "format", "label output: pdf|png|zpl")
	f.StringVar(&opts.Output, "output", "", "the PDF file, the PNG folder, or the ZPL file (- for standard output)")
	f.StringVar(&opts.Size, "size", "50x30mm", "label size WIDTHxHEIGHTmm, e.g. 62x29mm")
	f.IntVar(&opts.DPI, "dpi", 203, "the printer's resolution in dots per inch: 203 or 300")
	f.StringVar(&opts.Sheet, "sheet", "", "pdf only: tile labels on a4 sheets instead of one label per page")
	f.Var(opts.Summary, "summary", "summary format: text|json")
	return cmd
}

func (o *LabelOptions) check() error {
	if o.From == "" || o.Output == "" {
		return cli.Usagef("--from FILE and --output PATH are required")
	}
	size, err := boxlabel.ParseSize(o.Size)
	if err != nil {
		return &cli.UsageError{Err: fmt.Errorf("--size: %w", err)}
	}
	o.media = boxlabel.Media{Size: size, DPI: o.DPI}
	if err := o.media.Validate(); err != nil {
		return &cli.UsageError{Err: fmt.Errorf("--dpi: %w", err)}
	}
	switch {
	case o.Sheet != "" && o.Format.Value != labelPDF:
		return cli.Usagef("--sheet is for --format pdf")
	case o.Sheet != boxlabel.SheetNone && o.Sheet != boxlabel.SheetA4:
		return cli.Usagef("--sheet %q: use a4 (or leave it out for one label per page)", o.Sheet)
	case o.Output == "-" && o.Format.Value != labelZPL:
		return cli.Usagef("--output - is for --format zpl; a PDF goes to a file, PNGs to a folder")
	}
	return nil
}

// labelSummary is the stable JSON shape of `label --summary json`.
type labelSummary struct {
	Labels int        `json:"labels"`
	Pages  int        `json:"pages,omitempty"`
	Format cli.Format `json:"format"`
	Output string     `json:"output"`
	Size   string     `json:"size"`
	DPI    int        `json:"dpi"`
	Sheet  string     `json:"sheet,omitempty"`
}

// boxLabel is one device's label, ready to render.
type boxLabel struct {
	regID string
	label boxlabel.Label
}

func labelRun(ctx context.Context, opts *LabelOptions) error {
	rows, bad, err := readRowsFile(opts.From)
	if err != nil {
		return err
	}
	total := len(rows) + len(bad)
	labels := make([]boxLabel, 0, len(rows))
	for _, row := range rows {
		l, err := rowLabel(row)
		if err != nil {
			bad = append(bad, rowError{row.Line, err})
			continue
		}
		labels = append(labels, l)
	}
	if len(bad) > 0 {
		return badRowsError(opts.IO.ErrOut, opts.From, bad, total, "no label was written")
	}
	// One label is laid out first, so that a size too small for the code is said once, before
	// anything is written.
	if opts.Format.Value == labelZPL {
		err = labels[0].label.ZPL(io.Discard, opts.media)
	} else {
		_, err = labels[0].label.Image(opts.media)
	}
	if err != nil {
		return &cli.UsageError{Err: err}
	}
	sum := labelSummary{Labels: len(labels), Format: opts.Format.Value, Output: opts.Output,
		Size: opts.media.Size.String(), DPI: opts.DPI, Sheet: opts.Sheet}
	progress := newLabelProgress(opts, len(labels))
	switch opts.Format.Value {
	case labelPDF:
		sum.Pages, err = writeLabelPDF(ctx, opts, labels, progress)
	case labelPNG:
		err = writeLabelPNGs(ctx, opts, labels, progress)
	case labelZPL:
		err = writeLabelZPL(ctx, opts, labels, progress)
	}
	progress.done()
	if err != nil {
		return err
	}
	return printLabelSummary(opts, sum)
}

// rowLabel is a row's box label: the v1 payload the agent makes of the row's identity, which a
// JSON line's own payload must equal.
func rowLabel(row enrollRow) (boxLabel, error) {
	id := row.ID.Identity()
	id.Label = row.Label
	payload, err := identity.Encode(id, identity.FormatV1)
	if err != nil {
		return boxLabel{}, err
	}
	if row.Payload != "" && row.Payload != payload {
		return boxLabel{}, errors.New("the payload is not the one the endorsement key, registration ID and label make: print the line again with oob-agent identity --format json")
	}
	return boxLabel{regID: row.ID.RegistrationID(), label: boxlabel.Label{Payload: payload, Title: row.Label, ID: row.ID.RegistrationID()}}, nil
}

func writeLabelPDF(ctx context.Context, opts *LabelOptions, labels []boxLabel, progress *labelProgress) (int, error) {
	doc, err := boxlabel.NewPDF(opts.media, opts.Sheet)
	if err != nil {
		return 0, &cli.UsageError{Err: err}
	}
	err = renderInOrder(ctx, len(labels),
		func(i int) (boxlabel.Page, error) { return doc.Page(labels[i].label) },
		func(i int, pg boxlabel.Page) error {
			if err := doc.AddPage(pg); err != nil {
				return fmt.Errorf("%s: %w", labels[i].regID, err)
			}
			progress.step(i + 1)
			return nil
		})
	if err != nil {
		return 0, err
	}
	var b bytes.Buffer
	if err := doc.Write(&b); err != nil {
		return 0, err
	}
	return doc.Pages(), atomicfile.Write(opts.Output, b.Bytes(), 0o644)
}

func writeLabelPNGs(ctx context.Context, opts *LabelOptions, labels []boxLabel, progress *labelProgress) error {
	if err := os.MkdirAll(opts.Output, 0o755); err != nil {
		return err
	}
	return renderInOrder(ctx, len(labels),
		func(i int) ([]byte, error) {
			var b bytes.Buffer
			if err := labels[i].label.PNG(&b, opts.media); err != nil {
				return nil, fmt.Errorf("%s: %w", labels[i].regID, err)
			}
			return b.Bytes(), nil
		},
		func(i int, png []byte) error {
			// Registration IDs hold only a-z 0-9 - . _ : (DPS's rules), so each is a file name.
			if err := atomicfile.Write(filepath.Join(opts.Output, labels[i].regID+".png"), png, 0o644); err != nil {
				return err
			}
			progress.step(i + 1)
			return nil
		})
}

func writeLabelZPL(ctx context.Context, opts *LabelOptions, labels []boxLabel, progress *labelProgress) error {
	var all bytes.Buffer
	err := renderInOrder(ctx, len(labels),
		func(i int) ([]byte, error) {
			var b bytes.Buffer
			if err := labels[i].label.ZPL(&b, opts.media); err != nil {
				return nil, fmt.Errorf("%s: %w", labels[i].regID, err)
			}
			return b.Bytes(), nil
		},
		func(i int, zpl []byte) error {
			all.Write(zpl)
			progress.step(i + 1)
			return nil
		})
	if err != nil {
		return err
	}
	if opts.Output == "-" {
		_, err := opts.IO.Out.Write(all.Bytes())
		return err
	}
	return atomicfile.Write(opts.Output, all.Bytes(), 0o644)
}

func printLabelSummary(opts *LabelOptions, sum labelSummary) error {
	w := opts.IO.Out
	if opts.Output == "-" {
		w = opts.IO.ErrOut
	}
	if opts.Summary.Value == cli.FormatJSON {
		return json.NewEncoder(w).Encode(sum)
	}
	where := sum.Output
	if where == "-" {
		where = "standard output"
	}
	pages := ""
	if sum.Pages > 0 {
		pages = fmt.Sprintf(", %d pages", sum.Pages)
		if sum.Pages == 1 {
			pages = ", 1 page"
		}
	}
	noun := "labels"
	if sum.Labels == 1 {
		noun = "label"
	}
	_, err := fmt.Fprintf(w, "%d %s (%s, %s at %d dpi%s) written to %s\n", sum.Labels, noun, sum.Format, sum.Size, sum.DPI, pages, where)
	return err
}

// labelProgress shows "labelled N of M" on a terminal, every 1% or so.
type labelProgress struct {
	opts      *LabelOptions
	total     int
	every     int
	shownOnce bool
}

func newLabelProgress(opts *LabelOptions, total int) *labelProgress {
	return &labelProgress{opts: opts, total: total, every: max(1, total/100)}
}

func (p *labelProgress) step(n int) {
	if !p.opts.IO.ErrTTY || (n%p.every != 0 && n != p.total) {
		return
	}
	fmt.Fprintf(p.opts.IO.ErrOut, "\rlabelled %d of %d", n, p.total)
	p.shownOnce = true
}

func (p *labelProgress) done() {
	if p.shownOnce {
		fmt.Fprintln(p.opts.IO.ErrOut)
	}
}

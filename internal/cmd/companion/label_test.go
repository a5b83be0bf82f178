package companion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/pkg/identity"
)

func labelCmd(ios *cli.IOStreams) command { return quiet(NewCmdLabel(ios, nil)) }

// labelDevices returns three devices (the second with a device label), an --from file of them
// as JSON lines as `oob-agent identity --format json` prints them (the third without its
// payload, which the companion then builds from the EK), and the payload each device shows.
func labelDevices(t *testing.T) (devs []identity.Identity, payloads []string, jsonl string) {
	t.Helper()
	var lines []string
	for i, name := range []string{"", "bay 4", ""} {
		id := ektest.Identity(t, name)
		p, err := identity.Encode(id, identity.FormatV1)
		if err != nil {
			t.Fatal(err)
		}
		row := map[string]any{"registrationId": id.RegistrationID, "endorsementKey": b64(id.EndorsementKey), "label": name, "payload": p, "registrationIdDerived": true}
		if i == 2 {
			delete(row, "payload")
		}
		b, _ := json.Marshal(row)
		lines = append(lines, string(b))
		devs, payloads = append(devs, id), append(payloads, p)
	}
	return devs, payloads, writeFile(t, "devices.jsonl", strings.Join(lines, "\n")+"\n")
}

// decodedByCompanion runs `companion decode --format json` on an image and returns the
// registration ID and EK it found.
func decodedByCompanion(t *testing.T, path string) (regID, ek string) {
	t.Helper()
	stdout, stderr, err := runCmd(t, nil, decodeCmd, "--format", "json", path)
	if err != nil {
		t.Fatalf("companion decode %s: %v\n%s", path, err, stderr)
	}
	var d decodedJSON
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("companion decode printed %q", stdout)
	}
	return d.RegistrationID, d.EndorsementKey
}

// assertLabelReads checks that the label image at path reads as dev's payload in zbarimg,
// ZXingReader and companion decode.
func assertLabelReads(t *testing.T, path string, dev identity.Identity, payload string) {
	t.Helper()
	qrtest.AssertDecodes(t, path, payload)
	if id, ek := decodedByCompanion(t, path); id != dev.RegistrationID || ek != b64(dev.EndorsementKey) {
		t.Errorf("companion decode %s: %s, want %s", path, id, dev.RegistrationID)
	}
}

// PNG labels: one file per device, named by its registration ID, each reading as exactly the
// payload the device's agent shows; the JSON summary says how many.
func TestLabelPNG(t *testing.T) {
	devs, payloads, from := labelDevices(t)
	dir := filepath.Join(t.TempDir(), "labels")
	stdout, stderr, err := runCmd(t, nil, labelCmd, "--from", from, "--format", "png", "--output", dir, "--summary", "json")
	if err != nil {
		t.Fatalf("label: %v\n%s", err, stderr)
	}
	var sum labelSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Labels != 3 || sum.Format != "png" || sum.Size != "50x30mm" || sum.DPI != 203 {
		t.Errorf("summary %q: %+v, %v", stdout, sum, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(devs) {
		t.Fatalf("%d files in %s, want %d", len(entries), dir, len(devs))
	}
	for i, d := range devs {
		path := filepath.Join(dir, d.RegistrationID+".png")
		img := readPNG(t, path)
		if b := img.Bounds(); b.Dx() != 399 || b.Dy() != 239 {
			t.Errorf("%s is %v, want 50×30 mm at 203 dpi, 399×239", path, b)
		}
		qrtest.Keep(t, path)
		assertLabelReads(t, path, d, payloads[i])
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// PDF labels: one page per device at the label's size, in the file's order, each page, as
// poppler rasterizes it at the printer's resolution, reading as the device's payload. A CSV
// file's rows get the payload the agent would build from their EK.
func TestLabelPDF(t *testing.T) {
	devs, payloads, from := labelDevices(t)
	csv := "registrationId,endorsementKey\n"
	for _, d := range devs[:2] {
		csv += d.RegistrationID + "," + b64(d.EndorsementKey) + "\n"
	}
	csvPayload, _ := identity.Encode(identity.Identity{RegistrationID: devs[1].RegistrationID, EndorsementKey: devs[1].EndorsementKey}, identity.FormatV1)
	pdftoppm := qrtest.Tool(t, "pdftoppm", "poppler-utils")
	for _, c := range []struct {
		name, from string
		dpi        int
		payloads   []string
	}{
		{"jsonl-203", from, 203, payloads},
		{"csv-300", writeFile(t, "devices.csv", csv), 300, []string{payloads[0], csvPayload}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "labels.pdf")
			stdout, stderr, err := runCmd(t, nil, labelCmd, "--from", c.from, "--output", out, "--size", "62x29mm", "--dpi", fmt.Sprint(c.dpi))
			if err != nil {
				t.Fatalf("label: %v\n%s", err, stderr)
			}
			want := fmt.Sprintf("%d labels (pdf, 62x29mm at %d dpi, %d pages) written to %s\n", len(c.payloads), c.dpi, len(c.payloads), out)
			if stdout != want {
				t.Errorf("printed %q, want %q", stdout, want)
			}
			pages := rasterize(t, pdftoppm, out, c.dpi)
			if len(pages) != len(c.payloads) {
				t.Fatalf("%d pages, want one per row, %d", len(pages), len(c.payloads))
			}
			for i, page := range pages {
				// pdftoppm rounds the page's size to whole pixels.
				w, h := 62/25.4*float64(c.dpi), 29/25.4*float64(c.dpi)
				if b := readPNG(t, page).Bounds(); abs(float64(b.Dx())-w) > 1 || abs(float64(b.Dy())-h) > 1 {
					t.Errorf("page %d is %v, want 62×29 mm at %d dpi", i+1, b, c.dpi)
				}
				qrtest.Keep(t, page)
				assertLabelReads(t, page, devs[i], c.payloads[i])
			}
		})
	}
}

func abs(v float64) float64 { return max(v, -v) }

// rasterize turns each page of a PDF into a PNG at dpi with poppler's pdftoppm.
func rasterize(t *testing.T, pdftoppm, pdf string, dpi int) []string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(pdftoppm, "-r", fmt.Sprint(dpi), "-png", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page-*.png"))
	sort.Strings(pages)
	return pages
}

// --sheet a4 tiles the labels on A4 pages: 100×60 mm labels are 2 across and 4 down, the grid
// centred. Each slot, cut from the rasterized page, reads as its row's device, in file order.
func TestLabelPDFSheet(t *testing.T) {
	pdftoppm := qrtest.Tool(t, "pdftoppm", "poppler-utils")
	var rows, payloads []string
	for range 10 {
		id := ektest.Identity(t, "")
		rows = append(rows, id.RegistrationID+","+b64(id.EndorsementKey))
		p, _ := identity.Encode(id, identity.FormatV1)
		payloads = append(payloads, p)
	}
	out := filepath.Join(t.TempDir(), "sheets.pdf")
	if _, stderr, err := runCmd(t, nil, labelCmd, "--from", writeFile(t, "d.csv", strings.Join(rows, "\n")), "--output", out, "--sheet", "a4", "--size", "100x60mm"); err != nil {
		t.Fatalf("label: %v\n%s", err, stderr)
	}
	pages := rasterize(t, pdftoppm, out, 203)
	if len(pages) != 2 {
		t.Fatalf("%d pages, want 2 (8 labels on the first)", len(pages))
	}
	px := func(mm float64) int { return int(mm / 25.4 * 203) }
	zbarimg := qrtest.Decoders()[0]
	for i, want := range payloads {
		page := readPNG(t, pages[i/8]).(interface {
			image.Image
			SubImage(image.Rectangle) image.Image
		})
		slot := i % 8
		x, y := 5+float64(slot%2)*100, 28.5+float64(slot/2)*60
		cell := page.SubImage(image.Rect(px(x), px(y), px(x+100), px(y+60)))
		if got := qrtest.Decode(t, zbarimg, qrtest.WritePNG(t, cell, fmt.Sprintf("slot-%d.png", i))); got != want {
			t.Errorf("label %d, page %d slot %d, reads %q, want row %d's payload", i+1, i/8+1, slot+1, qrtest.Short(got), i+1)
		}
	}
}

// ZPL: one ^XA…^XZ format per device on standard output, the summary on standard error; each
// format's ^GFA graphic, drawn dot for dot, reads as the device's payload in every reader, and
// its text fields spell its label and registration ID.
func TestLabelZPL(t *testing.T) {
	devs, payloads, from := labelDevices(t)
	stdout, stderr, err := runCmd(t, nil, labelCmd, "--from", from, "--format", "zpl", "--output", "-", "--dpi", "300")
	if err != nil {
		t.Fatalf("label: %v\n%s", err, stderr)
	}
	if stderr != "3 labels (zpl, 50x30mm at 300 dpi) written to standard output\n" {
		t.Errorf("summary %q", stderr)
	}
	labels := qrtest.ParseZPL(t, stdout)
	if len(labels) != len(devs) {
		t.Fatalf("%d label formats, want %d", len(labels), len(devs))
	}
	for i, l := range labels {
		if l.Graphics != 1 || l.Width != 590 || l.Height != 354 {
			t.Errorf("label %d: %d graphics on %d×%d dots, want one on 590×354", i+1, l.Graphics, l.Width, l.Height)
		}
		if got := strings.Join(l.Texts, ""); got != devs[i].Label+devs[i].RegistrationID {
			t.Errorf("label %d says %q, want %q", i+1, got, devs[i].Label+devs[i].RegistrationID)
		}
		assertLabelReads(t, qrtest.WritePNG(t, l.Image, fmt.Sprintf("label-%d.png", i+1)), devs[i], payloads[i])
	}
	// The same to a file.
	out := filepath.Join(t.TempDir(), "labels.zpl")
	if _, stderr, err := runCmd(t, nil, labelCmd, "--from", from, "--format", "zpl", "--output", out, "--dpi", "300"); err != nil {
		t.Fatalf("label: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, []byte(stdout)) {
		t.Errorf("%s differs from what standard output got", out)
	}
}

// A file with bad rows writes no label and names each bad line: a broken EK, a JSON line whose
// payload is another device's, one whose payload differs from what its EK makes (another
// label), a registration ID given twice.
func TestLabelBadRowsWriteNothing(t *testing.T) {
	devs, payloads, _ := labelDevices(t)
	line := func(d identity.Identity, label, payload string) string {
		b, _ := json.Marshal(map[string]string{"registrationId": d.RegistrationID, "endorsementKey": b64(d.EndorsementKey), "label": label, "payload": payload})
		return string(b)
	}
	file := writeFile(t, "bad.jsonl", strings.Join([]string{
		line(devs[0], "", payloads[0]),
		`{"registrationId":"x","endorsementKey":"AAAA"}`,
		line(devs[1], "bay 4", payloads[2]),
		line(devs[1], "bay 5", payloads[1]),
		line(devs[0], "", payloads[0]),
	}, "\n"))
	for _, format := range []string{"pdf", "png", "zpl"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			if format == "zpl" {
				out = "-"
			}
			stdout, stderr, err := runCmd(t, nil, labelCmd, "--from", file, "--format", format, "--output", out)
			if err == nil || !strings.Contains(err.Error(), "4 of 5 rows are bad") || !strings.Contains(err.Error(), "no label was written") {
				t.Errorf("error %v", err)
			}
			for _, want := range []string{
				file + ": line 2: ",
				file + ": line 3: the payload is another device's",
				file + ": line 4: the payload is not the one the endorsement key, registration ID and label make",
				file + ": line 5: registration ID",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("printed %q", qrtest.Short(stdout))
			}
			if _, err := os.Stat(out); out != "-" && !os.IsNotExist(err) {
				t.Errorf("%s was written: %v", out, err)
			}
		})
	}
}

// Wrong options are usage errors (exit 2) that say what to do.
func TestLabelUsage(t *testing.T) {
	_, _, from := labelDevices(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--output", "x.pdf"}, "--from FILE and --output PATH are required"},
		{[]string{"--from", from, "--output", "x.pdf", "--size", "50x30"}, "WIDTHxHEIGHTmm"},
		{[]string{"--from", from, "--output", "x.pdf", "--dpi", "72"}, "203 or 300"},
		{[]string{"--from", from, "--output", "x", "--format", "png", "--sheet", "a4"}, "--sheet is for --format pdf"},
		{[]string{"--from", from, "--output", "x.pdf", "--sheet", "letter"}, "use a4"},
		{[]string{"--from", from, "--output", "-"}, "--output - is for --format zpl"},
		{[]string{"--from", from, "--output", filepath.Join(t.TempDir(), "x.pdf"), "--size", "20x12mm"}, "use a larger --size"},
		{[]string{"--from", from, "--output", "-", "--format", "zpl", "--size", "20x12mm"}, "use a larger --size"},
	} {
		stdout, _, err := runCmd(t, nil, labelCmd, c.args...)
		if cli.ExitCode(err, io.Discard) != cli.ExitUsage || !strings.Contains(err.Error(), c.want) || stdout != "" {
			t.Errorf("%v: exit %d, %v; want usage error %q", c.args, cli.ExitCode(err, io.Discard), err, c.want)
		}
	}
}

// On a terminal, standard error shows the count of labels done, ending at the total.
func TestLabelProgressOnATerminal(t *testing.T) {
	_, _, from := labelDevices(t)
	var out, errOut bytes.Buffer
	ios := cli.Test(nil, &out, &errOut)
	ios.ErrTTY = true
	c := labelCmd(ios)
	c.SetArgs([]string{"--from", from, "--format", "zpl", "--output", filepath.Join(t.TempDir(), "l.zpl")})
	if err := c.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "\rlabelled 1 of 3\rlabelled 2 of 3\rlabelled 3 of 3\n") {
		t.Errorf("stderr %q", errOut.String())
	}
}

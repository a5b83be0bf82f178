package display

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/qr"
)

// longPayload is 628 characters, which encodes as a version 12 code at level M: the size of
// a real enrollment payload, dense enough that a layout or colour mistake breaks decoding.
var longPayload = "OOB1:M" + strings.Repeat("0123456789", 62) + "01"

// shortPayload makes a small code, where centring and text wrapping differ most.
const shortPayload = "OOB1:hello"

// testScreen encodes payload at level M and fills in the text fields as the agent would.
func testScreen(tb testing.TB, payload string) Screen {
	tb.Helper()
	code, err := qr.Encode(payload, qr.LevelM)
	if err != nil {
		tb.Fatalf("qr.Encode: %v", err)
	}
	return Screen{
		Title:          "Scan to enroll this device",
		Code:           code,
		RegistrationID: "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiytgnbvgy3t", // 52 base32 characters, like a real one
		Status:         "waiting for enrollment",
	}
}

// decoder is an external QR reader run on an image file.
type decoder struct {
	name string
	// pkg is the Debian package that installs the tool.
	pkg  string
	args []string
}

var decoders = []decoder{
	{name: "zbarimg", pkg: "zbar-tools", args: []string{"--raw", "-q"}},
	{name: "ZXingReader", pkg: "zxing-cpp-tools", args: []string{"-bytes", "-format", "QRCode"}},
}

// requireTool returns the path of an external program. It skips the test when the program is
// absent, unless OOB_E2E is set: then a missing program fails the test, so a CI job that
// meant to run the end-to-end checks cannot pass without them.
func requireTool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("OOB_E2E") != "" {
		tb.Fatalf("%s is not installed (Debian package %s) and OOB_E2E is set", name, pkg)
	}
	tb.Skipf("%s is not installed (Debian package %s); set OOB_E2E=1 to make this a failure", name, pkg)
	return ""
}

// writePNG saves img under the test's temporary directory and returns the path.
func writePNG(tb testing.TB, img image.Image, name string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatalf("png.Encode: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	keep(tb, path)
	return path
}

// keep copies the image at path to the directory named by OOB_DISPLAY_KEEP, if set, under
// the test's name, for a person to look at.
func keep(tb testing.TB, path string) {
	tb.Helper()
	dir := os.Getenv("OOB_DISPLAY_KEEP")
	if dir == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name()) + filepath.Ext(path)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// decodeFile runs d on the image at path and returns the decoded text.
func decodeFile(tb testing.TB, d decoder, path string) string {
	tb.Helper()
	tool := requireTool(tb, d.name, d.pkg)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool, append(append([]string{}, d.args...), path)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			tb.Fatalf("%s found no QR code in %s (exit %d): %s", d.name, path, exit.ExitCode(), stderr.String())
		}
		tb.Fatalf("%s: %v", d.name, err)
	}
	// zbarimg ends its output with a newline; the payload never does.
	text := strings.TrimSuffix(stdout.String(), "\n")
	if text == "" {
		// ZXingReader exits 0 and prints nothing when it finds no code.
		tb.Fatalf("%s found no QR code in %s", d.name, path)
	}
	return text
}

// assertDecodes decodes the image at path with every external reader and checks the text.
func assertDecodes(t *testing.T, path, want string) {
	t.Helper()
	for _, d := range decoders {
		t.Run(d.name, func(t *testing.T) {
			if got := decodeFile(t, d, path); got != want {
				t.Errorf("%s decoded %q from %s, want %q", d.name, short(got), path, short(want))
			}
		})
	}
}

// short abbreviates long payloads in failure messages.
func short(s string) string {
	if len(s) > 40 {
		return s[:30] + "…" + s[len(s)-8:]
	}
	return s
}

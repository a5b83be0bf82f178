package qrtest

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
)

// Tool returns the path of an external program. It skips the test when the program is
// absent, unless OOB_E2E is set: then a missing program fails the test, so a CI job that
// meant to run the end-to-end checks cannot pass without them.
func Tool(tb testing.TB, name, pkg string) string {
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

// Decoder is a reference QR reader run on an image file.
type Decoder struct {
	Name string
	// Package is the Debian package that installs the tool.
	Package string
	Args    []string
}

// Decoders returns the reference readers: zbarimg and ZXingReader, both set to print the
// code's bytes exactly (zbarimg converts character sets unless told -Sbinary).
func Decoders() []Decoder {
	return []Decoder{
		{Name: "zbarimg", Package: "zbar-tools", Args: []string{"--raw", "-q", "-Sbinary"}},
		{Name: "ZXingReader", Package: "zxing-cpp-tools", Args: []string{"-bytes", "-format", "QRCode"}},
	}
}

// Decode runs d on the image at path and returns the text of the code it found.
func Decode(tb testing.TB, d Decoder, path string) string {
	tb.Helper()
	tool := Tool(tb, d.Name, d.Package)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tool, append(append([]string{}, d.Args...), path)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			tb.Fatalf("%s found no QR code in %s (exit %d): %s", d.Name, path, exit.ExitCode(), stderr.String())
		}
		tb.Fatalf("%s: %v", d.Name, err)
	}
	// zbarimg ends its output with a newline; the payload never does.
	text := strings.TrimSuffix(stdout.String(), "\n")
	if text == "" {
		// ZXingReader exits 0 and prints nothing when it finds no code.
		tb.Fatalf("%s found no QR code in %s", d.Name, path)
	}
	return text
}

// AssertDecodes decodes the image at path with every reference reader, in a subtest each,
// and checks the text is want.
func AssertDecodes(t *testing.T, path, want string) {
	t.Helper()
	for _, d := range Decoders() {
		t.Run(d.Name, func(t *testing.T) {
			if got := Decode(t, d, path); got != want {
				t.Errorf("%s decoded %q from %s, want %q", d.Name, Short(got), path, Short(want))
			}
		})
	}
}

// WritePNG saves img under the test's temporary directory and returns the path.
func WritePNG(tb testing.TB, img image.Image, name string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatalf("png.Encode: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	Keep(tb, path)
	return path
}

// Keep copies the image at path to the directory named by OOB_DISPLAY_KEEP, if set, under
// the test's name, for a person to look at.
func Keep(tb testing.TB, path string) {
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

// Short abbreviates long payloads in failure messages.
func Short(s string) string {
	if len(s) > 40 {
		return s[:30] + "…" + s[len(s)-8:]
	}
	return s
}

package display

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Show draws on each output exactly what that output's renderer draws.
func TestShowDrawsWhatTheRendererDraws(t *testing.T) {
	scr, err := CodeScreen("Scan to enroll this device", longPayload, "sensor-7")
	if err != nil {
		t.Fatal(err)
	}
	scr.Status = "waiting for enrollment"
	if scr.Code.Version != 12 {
		t.Fatalf("CodeScreen: version %d, want 12 (level M)", scr.Code.Version)
	}
	dir := t.TempDir()
	mode := mustParseMode(t, "800x480x32")
	size := TermSize{Cols: 120, Rows: 60}
	for _, tc := range []struct {
		name   string
		target Target
		// want renders the same screen directly; got reads what Show drew.
		want func(*testing.T) []byte
		got  func(*testing.T, *bytes.Buffer) []byte
	}{
		{"terminal", Target{Output: OutputTerminal, Size: size},
			func(t *testing.T) []byte {
				var b bytes.Buffer
				must(t, RenderTerminal(&b, scr, size))
				return b.Bytes()
			},
			func(_ *testing.T, out *bytes.Buffer) []byte { return out.Bytes() }},
		{"terminal full screen", Target{Output: OutputTerminal, Size: size, FullScreen: true},
			func(t *testing.T) []byte {
				var b bytes.Buffer
				must(t, RenderTerminalFullScreen(&b, scr, size))
				return b.Bytes()
			},
			func(_ *testing.T, out *bytes.Buffer) []byte { return out.Bytes() }},
		{"png to standard output", Target{Output: OutputPNG, File: "-"},
			func(t *testing.T) []byte {
				var b bytes.Buffer
				must(t, RenderPNG(&b, scr, PNGOptions{}))
				return b.Bytes()
			},
			func(_ *testing.T, out *bytes.Buffer) []byte { return out.Bytes() }},
		{"png file", Target{Output: OutputPNG, File: filepath.Join(dir, "qr.png")},
			func(t *testing.T) []byte {
				var b bytes.Buffer
				must(t, RenderPNG(&b, scr, PNGOptions{}))
				return b.Bytes()
			},
			func(t *testing.T, _ *bytes.Buffer) []byte { return readFile(t, filepath.Join(dir, "qr.png")) }},
		{"framebuffer file", Target{Output: OutputFramebuffer, Framebuffer: filepath.Join(dir, "fb.raw"), Mode: &mode},
			func(t *testing.T) []byte {
				path := filepath.Join(dir, "direct.raw")
				fb, err := OpenFramebuffer(path, &mode)
				must(t, err)
				must(t, fb.Draw(scr))
				must(t, fb.Close())
				return readFile(t, path)
			},
			func(t *testing.T, _ *bytes.Buffer) []byte { return readFile(t, filepath.Join(dir, "fb.raw")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.target.Out = &out
			must(t, Show(scr, tc.target))
			got, want := tc.got(t, &out), tc.want(t)
			if len(want) == 0 || !bytes.Equal(got, want) {
				t.Fatalf("Show drew %d bytes, the renderer %d, and they differ", len(got), len(want))
			}
		})
	}
}

func TestShowRefuses(t *testing.T) {
	scr := testScreen(t, shortPayload)
	if err := Show(scr, Target{Output: "printer"}); err == nil {
		t.Error("an unknown output was accepted")
	}
	if err := Show(scr, Target{Output: OutputTerminal}); err == nil {
		t.Error("a terminal output without a terminal was accepted")
	}
	missing := filepath.Join(t.TempDir(), "fb0")
	if err := Show(scr, Target{Output: OutputFramebuffer, Framebuffer: missing}); !errors.Is(err, ErrNoFramebuffer) {
		t.Errorf("a missing framebuffer: %v, want ErrNoFramebuffer", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

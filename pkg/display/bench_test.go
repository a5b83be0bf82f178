package display

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
)

// BenchmarkRenderPNG reports the time to lay out, draw and encode the default 800×480 screen
// with a version 12 code.
func BenchmarkRenderPNG(b *testing.B) {
	s := testScreen(b, longPayload)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := RenderPNG(&buf, s, PNGOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/png")
}

// BenchmarkRenderFramebuffer reports the time to draw a 1280×720 32 bpp screen into a file
// standing in for /dev/fb0: layout, drawing, pixel conversion and the write.
func BenchmarkRenderFramebuffer(b *testing.B) {
	s := testScreen(b, longPayload)
	m := mustParseMode(b, "1280x720x32")
	fb, err := OpenFramebuffer(filepath.Join(b.TempDir(), "fb0"), &m)
	if err != nil {
		b.Fatal(err)
	}
	defer fb.Close()
	for b.Loop() {
		if err := fb.Draw(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderTerminal reports the time to draw a version 12 code on a 200×80 terminal.
func BenchmarkRenderTerminal(b *testing.B) {
	s := testScreen(b, longPayload)
	for b.Loop() {
		if err := RenderTerminal(io.Discard, s, TermSize{200, 80}); err != nil {
			b.Fatal(err)
		}
	}
}

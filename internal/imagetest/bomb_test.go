package imagetest

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

// A bomb is a PNG that decodes to the size it claims, from a thousandth of its pixels' bytes:
// the tests refusing bombs refuse a real image, not a broken file.
func TestBombDecodes(t *testing.T) {
	for _, tt := range []struct {
		name string
		kind int
		bpp  int
	}{{"gray8", Gray8, 1}, {"rgba8", RGBA8, 4}, {"rgba16", RGBA16, 8}} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Bomb(&b, 1500, 1000, tt.kind); err != nil {
				t.Fatal(err)
			}
			raw := 1500 * 1000 * tt.bpp
			if b.Len() > raw/500 {
				t.Errorf("%d bytes for %d bytes of pixels: not a bomb", b.Len(), raw)
			}
			img, err := png.Decode(&b)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != image.Rect(0, 0, 1500, 1000) {
				t.Fatalf("bounds %v, want 1500×1000", img.Bounds())
			}
		})
	}
}

package camera

import (
	"image"
	"image/png"
	"os"
	"testing"

	"github.com/oobtpm/oob/pkg/qr"
)

// frameWithCode is a w×h light frame with text's QR code drawn at (x, y), scale pixels a module.
func frameWithCode(t *testing.T, w, h int, text string, x, y, scale int) *image.Gray {
	t.Helper()
	img := blank(w, h, 235)
	code, err := qr.Encode(text, qr.LevelM)
	if err != nil {
		t.Fatal(err)
	}
	for my, row := range code.Modules {
		for mx, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				off := img.PixOffset(x+mx*scale, y+my*scale+dy)
				for dx := range scale {
					img.Pix[off+dx] = 20
				}
			}
		}
	}
	return img
}

// blank is a w×h frame of one gray level.
func blank(w, h int, level byte) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = level
	}
	return img
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

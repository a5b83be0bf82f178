package imagefile

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/oobtpm/oob/internal/imagetest"
)

// Decode never panics, refuses the input whose header claims more than MaxPixels pixels, and
// never returns an image larger than that.
func FuzzDecode(f *testing.F) {
	small := image.NewGray(image.Rect(0, 0, 24, 16))
	for _, enc := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return png.Encode(b, small) },
		func(b *bytes.Buffer) error { return jpeg.Encode(b, small, nil) },
		func(b *bytes.Buffer) error { return gif.Encode(b, small, nil) },
		func(b *bytes.Buffer) error { return imagetest.Bomb(b, 9000, 9000, imagetest.Gray8) },
	} {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte{})
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, cfgErr := image.DecodeConfig(bytes.NewReader(data))
		if cfgErr == nil && int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
			if _, err := Decode(bytes.NewReader(data)); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("header claims %d×%d; Decode = %v, want ErrTooLarge", cfg.Width, cfg.Height, err)
			}
			return
		}
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Decode error %v wraps none of the package's sentinels", err)
			}
			return
		}
		if cfgErr != nil {
			t.Fatalf("Decode read an image whose header DecodeConfig refuses: %v", cfgErr)
		}
		// A GIF's first frame may be smaller than its screen, never larger.
		if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > MaxPixels {
			t.Fatalf("decoded %v, more than MaxPixels", b)
		}
	})
}

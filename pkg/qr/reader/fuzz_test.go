package reader

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/pkg/qr"
)

// FuzzDecodePNG feeds arbitrary PNG files to Decode, which must return codes or an error and
// never panic. The seeds are rendered codes in a few variations and, when present, the corpus.
func FuzzDecodePNG(f *testing.F) {
	for _, text := range []string{"OOB1:M0123", v1Payload(9)} {
		img := render(f, encodeForTest(f, text), 2, qr.QuietZone, 0, 255)
		for _, v := range []image.Image{img, invertGray(img), rotate90(img)} {
			var buf bytes.Buffer
			if err := png.Encode(&buf, v); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
	paths, _ := filepath.Glob(filepath.Join(corpusDir, "*.png"))
	for _, p := range paths[:min(len(paths), 8)] {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<22 {
			return // not a PNG, or too large to decode quickly
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		res, err := Decode(img)
		if err == nil && len(res) == 0 {
			t.Fatal("no error and no result")
		}
		if err != nil && len(res) != 0 {
			t.Fatal("an error and results")
		}
	})
}

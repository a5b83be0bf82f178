package boxlabel

import (
	"fmt"
	"image/png"
	"io"
)

// PNG writes l as a PNG image of m's size in dots (the zero Media: 800×480 pixels), one
// image pixel per printer dot.
func (l Label) PNG(w io.Writer, m Media) error {
	img, err := l.Image(m)
	if err != nil {
		return err
	}
	// The default level, as pkg/display's PNG screens: best compression saves little on this
	// mostly flat image and takes several times as long.
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("boxlabel: encode PNG: %w", err)
	}
	return nil
}

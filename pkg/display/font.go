package display

import (
	"fmt"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
)

// The image outputs use Go Mono (golang.org/x/image/font/gofont) through the opentype
// rasterizer rather than basicfont: it scales to any pixel size, so text stays readable on a
// 1920×1080 panel as on a 320×240 one, and a monospaced face with distinct 0/O and 1/l keeps
// the base32 registration ID unambiguous when a technician types it. The two faces add about
// 340 KB to the binary.

// fonts holds the parsed regular and bold Go Mono; parsing is done once and the result is
// never modified, so it is safe to share.
var fonts = sync.OnceValues(func() ([2]*opentype.Font, error) {
	var out [2]*opentype.Font
	for i, ttf := range [][]byte{gomono.TTF, gomonobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return out, fmt.Errorf("display: parse built-in font: %w", err)
		}
		out[i] = f
	}
	return out, nil
})

// newFace returns Go Mono (bold when asked) at px pixels per em. Faces cache glyphs and are not
// safe for concurrent use, so each render makes its own.
func newFace(px float64, bold bool) (font.Face, error) {
	fs, err := fonts()
	if err != nil {
		return nil, err
	}
	f := fs[0]
	if bold {
		f = fs[1]
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("display: font face at %.0f px: %w", px, err)
	}
	return face, nil
}

package reader

import (
	"github.com/makiuchi-d/gozxing"
)

// binarizer turns a luminance plane into the black-and-white matrix the detector searches.
type binarizer int

const (
	// hybrid is ZXing's local-block threshold: fast, and right for most photos.
	hybrid binarizer = iota
	// global is one threshold from the histogram's valley: survives strong blur and small
	// codes better than the 8×8 blocks of hybrid, fails under uneven light.
	global
	// adaptive thresholds each pixel against the mean of a window a few modules wide; it
	// copes with gradients and glare across the code that defeat both of the above.
	adaptive
)

func (b binarizer) String() string {
	switch b {
	case hybrid:
		return "hybrid"
	case global:
		return "global"
	default:
		return "adaptive"
	}
}

// binarize runs b on p. integral is scratch space for the adaptive threshold.
func binarize(b binarizer, p *plane, integral *[]uint32) (*gozxing.BitMatrix, error) {
	switch b {
	case hybrid:
		return hybridThreshold(p)
	case global:
		return globalThreshold(p)
	default:
		return adaptiveThreshold(p, integral)
	}
}

// adaptiveThreshold marks a pixel black when it is darker than the mean of the window around it
// by a small margin; the margin keeps flat areas (quiet zone, screen bezel) white.
func adaptiveThreshold(p *plane, integral *[]uint32) (*gozxing.BitMatrix, error) {
	w, h := p.w, p.h
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	iw := w + 1
	if cap(*integral) < iw*(h+1) {
		*integral = make([]uint32, iw*(h+1))
	}
	sum := (*integral)[:iw*(h+1)]
	clear(sum[:iw])
	for y := 0; y < h; y++ {
		var row uint32
		sum[(y+1)*iw] = 0
		for x := 0; x < w; x++ {
			row += uint32(p.pix[y*w+x])
			sum[(y+1)*iw+x+1] = sum[y*iw+x+1] + row
		}
	}
	// A window of about 1/8 of the shorter side spans several modules of any code that fills
	// a reasonable part of the frame, and is clamped so tiny images still get a neighbourhood.
	r := max(min(w, h)/16, 4)
	for y := 0; y < h; y++ {
		y0, y1 := max(y-r, 0), min(y+r+1, h)
		for x := 0; x < w; x++ {
			x0, x1 := max(x-r, 0), min(x+r+1, w)
			n := uint64((y1 - y0) * (x1 - x0))
			// The table wraps around on huge images; differences of window sums stay exact.
			s := uint64(sum[y1*iw+x1] - sum[y0*iw+x1] - sum[y1*iw+x0] + sum[y0*iw+x0])
			// Compare v*n with s*(1-margin) in integers: margin 1/16 of the mean.
			if uint64(p.pix[y*w+x])*n*16 < s*15 {
				m.Set(x, y)
			}
		}
	}
	return m, nil
}

package reader

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/oobtpm/oob/pkg/qr"
)

// render draws code with scale pixels per module and a quiet zone of quiet modules, dark
// modules in dark and light ones in light.
func render(tb testing.TB, code *qr.Code, scale, quiet int, dark, light uint8) *image.Gray {
	tb.Helper()
	side := (code.Size() + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = light
	}
	for y, row := range code.Modules {
		for x, on := range row {
			if !on {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{Y: dark})
				}
			}
		}
	}
	return img
}

// encodeForTest encodes text at level M or fails the test.
func encodeForTest(tb testing.TB, text string) *qr.Code {
	tb.Helper()
	code, err := qr.Encode(text, qr.LevelM)
	if err != nil {
		tb.Fatalf("Encode: %v", err)
	}
	return code
}

// invertGray swaps dark and light, as a code shown light-on-dark on a screen.
func invertGray(src *image.Gray) *image.Gray {
	dst := image.NewGray(src.Rect)
	for i, v := range src.Pix {
		dst.Pix[i] = 255 - v
	}
	return dst
}

// rotate90 turns src a quarter turn clockwise.
func rotate90(src *image.Gray) *image.Gray {
	b := src.Bounds()
	dst := image.NewGray(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			dst.SetGray(b.Dy()-1-y, x, src.GrayAt(x, y))
		}
	}
	return dst
}

// place draws src into a w×h frame filled with bg, scaled by scale, turned by angle degrees
// about its centre, centred at (cx, cy): a code photographed from a distance and at a tilt.
// Each frame pixel is sampled bilinearly from src; what falls outside src is background.
func place(src *image.Gray, w, h int, bg uint8, scale, angle, cx, cy float64) *image.Gray {
	dst := image.NewGray(image.Rect(0, 0, w, h))
	p := plane{w: src.Rect.Dx(), h: src.Rect.Dy(), pix: src.Pix}
	sin, cos := math.Sincos(angle * math.Pi / 180)
	sw, sh := float64(p.w)/2, float64(p.h)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// Inverse map: frame → source, undoing the translation, rotation and scale.
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			sx := (cos*dx+sin*dy)/scale + sw - 0.5
			sy := (-sin*dx+cos*dy)/scale + sh - 0.5
			if sx < -0.5 || sy < -0.5 || sx > float64(p.w)-0.5 || sy > float64(p.h)-0.5 {
				dst.Pix[y*w+x] = bg
				continue
			}
			dst.Pix[y*w+x] = p.bilinear(sx, sy)
		}
	}
	return dst
}

// lowContrast maps luminance into [lo, hi] and adds uniform noise of ±noise, as a dim screen
// seen by a cheap sensor.
func lowContrast(img *image.Gray, lo, hi uint8, noise int, seed uint64) *image.Gray {
	rng := rand.New(rand.NewPCG(seed, seed))
	dst := image.NewGray(img.Rect)
	for i, v := range img.Pix {
		l := int(lo) + int(v)*(int(hi)-int(lo))/255
		if noise > 0 {
			l += rng.IntN(2*noise+1) - noise
		}
		dst.Pix[i] = uint8(min(max(l, 0), 255))
	}
	return dst
}

// digits returns n pseudo-random decimal digits.
func digits(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

// legacyJSON is a payload shaped like the original sample's JSON, about 500 bytes.
func legacyJSON(seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 2))
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	ek := make([]byte, 400)
	for i := range ek {
		ek[i] = b64[rng.IntN(len(b64))]
	}
	return `{"registrationId":"` + digits(20, seed) + `","endorsementKey":"` + string(ek) + `","label":"LINE 3"}`
}

// v1Payload is shaped like the compact payload: a prefix and a long run of digits.
func v1Payload(seed uint64) string {
	return "OOB1:M" + digits(622, seed)
}

// frame1280x720 is a synthetic webcam frame: a version-12 code at about 2.6 pixels per module,
// tilted 6°, off-centre, at low contrast with sensor noise.
func frame1280x720(tb testing.TB) (*image.Gray, string) {
	tb.Helper()
	text := v1Payload(7)
	code := encodeForTest(tb, text)
	if code.Version != 12 {
		tb.Fatalf("payload encodes as version %d, want 12", code.Version)
	}
	img := render(tb, code, 4, qr.QuietZone, 0, 255)
	f := place(img, 1280, 720, 255, 0.65, 6, 760, 330)
	return lowContrast(f, 70, 150, 12, 7), text
}

// bilinear samples p at a fractional position, clamping at the edges, in floating point: the
// reference that the decoder's own fixed-point bilinearRow follows.
func (p *plane) bilinear(x, y float64) byte {
	x = min(max(x, 0), float64(p.w-1))
	y = min(max(y, 0), float64(p.h-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	v00 := float64(p.pix[y0*p.w+x0])
	v10 := float64(p.pix[y0*p.w+x1])
	v01 := float64(p.pix[y1*p.w+x0])
	v11 := float64(p.pix[y1*p.w+x1])
	top := v00 + (v10-v00)*fx
	bot := v01 + (v11-v01)*fx
	return byte(top + (bot-top)*fy + 0.5)
}

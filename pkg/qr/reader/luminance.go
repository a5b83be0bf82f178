package reader

import (
	"errors"
	"image"
	"image/color"

	"github.com/makiuchi-d/gozxing"
)

// plane is an 8-bit luminance image, 0 black to 255 white, stored row by row without padding.
// Every decoding attempt reads and writes planes so that the colour model of the input is
// handled exactly once, and so that buffers can be kept between video frames.
type plane struct {
	w, h int
	pix  []byte
	// borrowed is set when pix is the caller's image (see setGray): it is only read, and
	// never reused for another plane.
	borrowed bool
}

// resize makes p a w×h plane, reusing its buffer when it is large enough and its own.
func (p *plane) resize(w, h int) {
	if p.borrowed {
		p.pix, p.borrowed = nil, false
	}
	p.w, p.h = w, h
	if cap(p.pix) < w*h {
		p.pix = make([]byte, w*h)
	}
	p.pix = p.pix[:w*h]
}

// borrow makes p the w×h plane pix holds, without copying it.
func (p *plane) borrow(w, h int, pix []byte) {
	p.w, p.h, p.pix, p.borrowed = w, h, pix[:w*h:w*h], true
}

// release lets go of a borrowed image, so that the plane does not keep it alive.
func (p *plane) release() {
	if p.borrowed {
		p.pix, p.borrowed = nil, false
	}
}

// setGray converts img to luminance in p. Alpha is composited over white, as a transparent
// PNG is shown on a light page, so that a code drawn with transparent light modules still has
// its quiet zone. A gray image, or the luma of a YCbCr one, whose rows follow each other
// without padding is read where it is: a copy is memory that a process decoding one photo
// touches for the first time, which costs more than reading it.
func (p *plane) setGray(img image.Image) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.Gray:
		if m.Stride == w {
			p.borrow(w, h, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):])
			return
		}
	case *image.YCbCr:
		if m.YStride == w {
			p.borrow(w, h, m.Y[m.YOffset(b.Min.X, b.Min.Y):])
			return
		}
	}
	p.resize(w, h)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(p.pix[y*w:(y+1)*w], m.Pix[off:off+w])
		}
	case *image.YCbCr:
		// Webcam frames arrive as YCbCr; Y already is the luminance.
		for y := 0; y < h; y++ {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(p.pix[y*w:(y+1)*w], m.Y[off:off+w])
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := p.pix[y*w : (y+1)*w]
			for x := range dst {
				s := row[4*x : 4*x+4 : 4*x+4]
				// Premultiplied: adding the missing coverage composites over white.
				dst[x] = byte(luma(uint32(s[0]), uint32(s[1]), uint32(s[2])) + 255 - uint32(s[3]))
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := p.pix[y*w : (y+1)*w]
			for x := range dst {
				s := row[4*x : 4*x+4 : 4*x+4]
				a := uint32(s[3])
				l := luma(uint32(s[0]), uint32(s[1]), uint32(s[2]))
				dst[x] = byte((l*a + 255*(255-a)) / 255)
			}
		}
	case *image.Paletted:
		var lut [256]byte
		for i, c := range m.Palette {
			if i < len(lut) {
				lut[i] = gray16(c)
			}
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := p.pix[y*w : (y+1)*w]
			for x := range dst {
				dst[x] = lut[row[x]]
			}
		}
	case image.RGBA64Image:
		// 16-bit PNGs and the like: RGBA64At does not allocate, unlike At.
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				p.pix[i] = gray16(m.RGBA64At(x, y))
				i++
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				p.pix[i] = gray16(img.At(x, y))
				i++
			}
		}
	}
}

// luma weighs 8-bit red, green and blue like ITU-R BT.601 (×256, so the shift is exact).
func luma(r, g, b uint32) uint32 {
	return (77*r + 150*g + 29*b) >> 8
}

// gray16 converts any colour to 8-bit luminance composited over white.
func gray16(c color.Color) byte {
	if c == nil {
		return 255
	}
	r, g, b, a := c.RGBA()
	l := (19595*r + 38470*g + 7471*b) >> 16 // premultiplied, 16-bit
	return byte((l + 0xffff - a) >> 8)
}

// source adapts a plane to gozxing's LuminanceSource. Only what the binarizers use is
// implemented; cropping and rotation are done on planes instead.
type source struct{ p *plane }

var errUnsupported = errors.New("qr: operation not supported on a luminance plane")

func (s source) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= s.p.h {
		return nil, errors.New("qr: row outside the image")
	}
	if cap(row) < s.p.w {
		row = make([]byte, s.p.w)
	}
	row = row[:s.p.w]
	copy(row, s.p.pix[y*s.p.w:])
	return row, nil
}

func (s source) GetMatrix() []byte               { return s.p.pix }
func (s source) GetWidth() int                   { return s.p.w }
func (s source) GetHeight() int                  { return s.p.h }
func (s source) IsCropSupported() bool           { return false }
func (s source) IsRotateSupported() bool         { return false }
func (s source) String() string                  { return "qr.source" }
func (s source) Invert() gozxing.LuminanceSource { return gozxing.LuminanceSourceInvert(s) }

func (s source) Crop(left, top, width, height int) (gozxing.LuminanceSource, error) {
	return nil, errUnsupported
}

func (s source) RotateCounterClockwise() (gozxing.LuminanceSource, error) {
	return nil, errUnsupported
}

func (s source) RotateCounterClockwise45() (gozxing.LuminanceSource, error) {
	return nil, errUnsupported
}

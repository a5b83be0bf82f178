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

// binarize runs b on p, or on its negative when inverted, for light modules on a dark
// background: gozxing only finds dark modules on a light background, and its ALSO_INVERTED
// hint is ignored by the QR reader. The negative is not made: each binarizer reads a pixel v as 255-v (v^0xff),
// which gives the matrix the negative plane would, bit for bit, and spares a copy of the plane.
// s, which may be nil, is the caller's scratch space.
func binarize(b binarizer, p *plane, inverted bool, s *scratch) (*gozxing.BitMatrix, error) {
	var flip byte
	if inverted {
		flip = 0xff
	}
	if s == nil {
		s = &scratch{}
	}
	switch b {
	case hybrid:
		return hybridThreshold(p, flip, s)
	case global:
		return globalThreshold(p, flip, s)
	default:
		return adaptiveThreshold(p, flip, s)
	}
}

// scratch is the memory one worker's binarizations reuse, from step to step and image to
// image: memory that a process decoding one photo touches for the first time costs more than
// the work done in it.
type scratch struct {
	// spare is a matrix no longer wanted (see Decoder.try), written over by the next
	// binarization of its size.
	spare *gozxing.BitMatrix
	// sums is the adaptive threshold's two rows of counters.
	sums []uint32
	// black and thr are the hybrid threshold's block values.
	black, thr []int
}

// matrix returns a w×h matrix for a binarizer that sets every one of its rows: the spare one
// when it has that size.
func (s *scratch) matrix(w, h int) (*gozxing.BitMatrix, error) {
	if m := s.spare; m != nil && m.GetWidth() == w && m.GetHeight() == h {
		s.spare = nil
		return m, nil
	}
	return gozxing.NewBitMatrix(w, h)
}

// ints returns buf resized to n, reallocated only when too small.
func ints(buf *[]int, n int) []int {
	if cap(*buf) < n {
		*buf = make([]int, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// adaptiveThreshold marks a pixel black when it is darker than the mean of the window around it
// by a small margin; the margin keeps flat areas (quiet zone, screen bezel) white. Pixels are
// read as v^flip.
//
// The window sums come from the sums of each column over the window's rows, moved down a row
// at a time, and their running sums along the row: two rows of counters in s, where a table of
// sums over the whole plane would be four bytes a pixel of memory that a process decoding one
// photo touches for the first time.
func adaptiveThreshold(p *plane, flip byte, s *scratch) (*gozxing.BitMatrix, error) {
	w, h := p.w, p.h
	m, err := s.matrix(w, h)
	if err != nil {
		return nil, err
	}
	if cap(s.sums) < 2*w+1 {
		s.sums = make([]uint32, 2*w+1)
	}
	col, pre := s.sums[:w], s.sums[w:2*w+1]
	clear(col)
	// A window of about 1/8 of the shorter side spans several modules of any code that fills
	// a reasonable part of the frame, and is clamped so tiny images still get a neighbourhood.
	r := max(min(w, h)/16, 4)
	bits := gozxing.NewBitArray(w)
	top, bottom := 0, 0 // the rows summed in col: [top, bottom)
	for y := 0; y < h; y++ {
		y0, y1 := max(y-r, 0), min(y+r+1, h)
		for ; bottom < y1; bottom++ {
			for x, v := range p.pix[bottom*w : (bottom+1)*w] {
				col[x] += uint32(v ^ flip)
			}
		}
		for ; top < y0; top++ {
			for x, v := range p.pix[top*w : (top+1)*w] {
				col[x] -= uint32(v ^ flip)
			}
		}
		pre[0] = 0
		for x, c := range col {
			pre[x+1] = pre[x] + c
		}
		rows := uint64(y1 - y0)
		pix := p.pix[y*w : (y+1)*w]
		for x0 := 0; x0 < w; x0 += 32 {
			var word uint32
			for i, v := range pix[x0:min(x0+32, w)] {
				x := x0 + i
				lo, hi := max(x-r, 0), min(x+r+1, w)
				n := rows * uint64(hi-lo)
				sum := uint64(pre[hi] - pre[lo])
				// Compare v*n with sum*(1-margin) in integers: margin 1/16 of the mean.
				if uint64(v^flip)*n*16 < sum*15 {
					word |= 1 << uint(i)
				}
			}
			bits.SetBulk(x0, word)
		}
		m.SetRow(y, bits)
	}
	return m, nil
}

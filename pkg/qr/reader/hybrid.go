package reader

import (
	"github.com/makiuchi-d/gozxing"
)

// Block geometry of ZXing's hybrid binarizer.
const (
	hybridBlock      = 8
	hybridMinSide    = hybridBlock * 5
	hybridMinDynamic = 24
)

// hybridThreshold is gozxing's HybridBinarizer with the same output, made faster: gozxing sets
// each black pixel with BitMatrix.Set, which was a tenth of the decoder's time; here each row
// is built a word at a time and copied in. Planes smaller than five blocks fall back to
// gozxing's global histogram, as gozxing does. Pixels are read as v^flip (see binarize).
func hybridThreshold(p *plane, flip byte, s *scratch) (*gozxing.BitMatrix, error) {
	w, h := p.w, p.h
	if w < hybridMinSide || h < hybridMinSide {
		return globalThreshold(p, flip, s)
	}
	subW, subH := (w+hybridBlock-1)/hybridBlock, (h+hybridBlock-1)/hybridBlock
	black := blackPoints(ints(&s.black, subW*subH), p.pix, flip, subW, subH, w, h)
	// Each block's threshold is the mean of the black points of the 5×5 blocks around it.
	thr := ints(&s.thr, subW*subH)
	for y := 0; y < subH; y++ {
		top := min(max(y, 2), subH-3)
		for x := 0; x < subW; x++ {
			left := min(max(x, 2), subW-3)
			sum := 0
			for z := -2; z <= 2; z++ {
				row := black[(top+z)*subW:]
				sum += row[left-2] + row[left-1] + row[left] + row[left+1] + row[left+2]
			}
			thr[y*subW+x] = sum / 25
		}
	}
	m, err := s.matrix(w, h)
	if err != nil {
		return nil, err
	}
	// The last block of a row or column is moved back to end at the edge, so it overlaps the
	// one before; gozxing only ever sets bits, so a pixel is black if it is at most the
	// threshold of any block over it, that is at most the larger threshold.
	lastX, lastY := w-hybridBlock, h-hybridBlock
	rowThr := make([]int, w)
	row := gozxing.NewBitArray(w)
	made := [2]int{-1, -1} // the block rows rowThr was made for
	for y := 0; y < h; y++ {
		// The block rows over y: its own, and the moved last one.
		over := [2]int{y / hybridBlock, -1}
		if last := subH - 1; last != over[0] && y >= lastY {
			over[1] = last
		}
		if over != made {
			made = over
			for x := range rowThr {
				rowThr[x] = -1
			}
			for _, b := range over {
				if b < 0 {
					continue
				}
				for bx := 0; bx < subW; bx++ {
					t := thr[b*subW+bx]
					x0 := min(bx*hybridBlock, lastX)
					for x := x0; x < x0+hybridBlock; x++ {
						rowThr[x] = max(rowThr[x], t)
					}
				}
			}
		}
		pix := p.pix[y*w : (y+1)*w]
		for x0 := 0; x0 < w; x0 += 32 {
			var word uint32
			thr := rowThr[x0:min(x0+32, w)]
			for i, v := range pix[x0 : x0+len(thr)] {
				// Without a branch: the sign of threshold-v is 0 for a black pixel, so its
				// complement's low bit is 1; a branch per pixel mispredicts on noisy frames.
				word |= uint32(^((thr[i]-int(v^flip))>>63)&1) << uint(i)
			}
			row.SetBulk(x0, word)
		}
		m.SetRow(y, row)
	}
	return m, nil
}

// blackPoints is gozxing's calculateBlackPoints: each block's black point, from its mean when
// the block has contrast, else from its darkest pixel and its neighbours' black points; pixels
// read as v^flip. The subW×subH values are written into black, which is returned.
func blackPoints(black []int, lum []byte, flip byte, subW, subH, w, h int) []int {
	lastX, lastY := w-hybridBlock, h-hybridBlock
	for y := 0; y < subH; y++ {
		y0 := min(y*hybridBlock, lastY)
		for x := 0; x < subW; x++ {
			x0 := min(x*hybridBlock, lastX)
			sum, lo, hi := 0, 0xff, 0
			for yy, off := 0, y0*w+x0; yy < hybridBlock; yy, off = yy+1, off+w {
				for _, v := range lum[off : off+hybridBlock] {
					px := int(v ^ flip)
					sum += px
					lo = min(lo, px)
					hi = max(hi, px)
				}
				if hi-lo > hybridMinDynamic {
					// Contrast found: the rest of the block only adds to the sum.
					for yy, off = yy+1, off+w; yy < hybridBlock; yy, off = yy+1, off+w {
						for _, v := range lum[off : off+hybridBlock] {
							sum += int(v ^ flip)
						}
					}
				}
			}
			avg := sum >> 6
			if hi-lo <= hybridMinDynamic {
				avg = lo / 2
				if y > 0 && x > 0 {
					n := (black[(y-1)*subW+x] + 2*black[y*subW+x-1] + black[(y-1)*subW+x-1]) / 4
					if lo < n {
						avg = n
					}
				}
			}
			black[y*subW+x] = avg
		}
	}
	return black
}

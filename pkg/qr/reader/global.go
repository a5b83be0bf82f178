package reader

import (
	"github.com/makiuchi-d/gozxing"
)

// Histogram geometry of ZXing's global histogram binarizer: 32 buckets of 8 grey levels.
const (
	globalShift   = 3
	globalBuckets = 1 << (8 - globalShift)
)

// globalThreshold is gozxing's GlobalHistogramBinarizer.GetBlackMatrix with the same output,
// made faster as hybridThreshold is: gozxing sets each black pixel with BitMatrix.Set; here
// each row is built a word at a time and copied in. The black point is estimated from four
// rows' middle three fifths, as gozxing does, and a plane without enough contrast is refused
// the same way. Pixels are read as v^flip (see binarize).
func globalThreshold(p *plane, flip byte, s *scratch) (*gozxing.BitMatrix, error) {
	w, h := p.w, p.h
	if w < 1 || h < 1 {
		return gozxing.NewBitMatrix(w, h) // its error
	}
	var buckets [globalBuckets]int
	for y := 1; y < 5; y++ {
		row := p.pix[(h*y/5)*w:]
		for _, v := range row[w/5 : (w*4)/5] {
			buckets[(v^flip)>>globalShift]++
		}
	}
	black, ok := globalBlackPoint(&buckets)
	if !ok {
		return nil, gozxing.NewNotFoundException()
	}
	m, err := s.matrix(w, h)
	if err != nil {
		return nil, err
	}
	bits := gozxing.NewBitArray(w)
	for y := 0; y < h; y++ {
		pix := p.pix[y*w : (y+1)*w]
		for x0 := 0; x0 < w; x0 += 32 {
			var word uint32
			for i, v := range pix[x0:min(x0+32, w)] {
				// Without a branch, as in hybridThreshold: the sign of v-black is 1 when
				// black.
				word |= uint32(((int(v^flip)-black)>>63)&1) << uint(i)
			}
			bits.SetBulk(x0, word)
		}
		m.SetRow(y, bits)
	}
	return m, nil
}

// globalBlackPoint is gozxing's estimateBlackPoint: the valley between the histogram's two
// peaks, nearer the white one; ok is false when the peaks are too close to tell dark from
// light.
func globalBlackPoint(buckets *[globalBuckets]int) (black int, ok bool) {
	maxCount, firstPeak, firstPeakSize := 0, 0, 0
	for x, n := range buckets {
		if n > firstPeakSize {
			firstPeak, firstPeakSize = x, n
		}
		maxCount = max(maxCount, n)
	}
	// The second peak: far from the first, weighed by the square of the distance.
	secondPeak, secondScore := 0, 0
	for x, n := range buckets {
		d := x - firstPeak
		if score := n * d * d; score > secondScore {
			secondPeak, secondScore = x, score
		}
	}
	if firstPeak > secondPeak {
		firstPeak, secondPeak = secondPeak, firstPeak
	}
	if secondPeak-firstPeak <= globalBuckets/16 {
		return 0, false
	}
	valley, valleyScore := secondPeak-1, -1
	for x := secondPeak - 1; x > firstPeak; x-- {
		from := x - firstPeak
		if score := from * from * (secondPeak - x) * (maxCount - buckets[x]); score > valleyScore {
			valley, valleyScore = x, score
		}
	}
	return valley << globalShift, true
}

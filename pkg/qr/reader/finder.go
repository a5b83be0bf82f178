package reader

import (
	"math"
	"math/bits"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// findPatterns is gozxing's FinderPatternFinder.Find with a faster choice of the best triple;
// it returns the same patterns.
//
// gozxing tries every triple of candidate centres, skipping those whose module sizes differ by
// more than 40% only after computing nothing but that test. A photographed screen's moiré and
// text give hundreds of candidates, and that cubic loop was half of the decoder's time on such
// frames. The candidates are sorted by module size, so once one is too large every later one is
// too: bestTriple stops there instead of testing them all, in the same order, with the same
// arithmetic.
func findPatterns(m *gozxing.BitMatrix, tryHarder bool) (*detector.FinderPatternInfo, error) {
	f := detector.NewFinderPatternFinder(m, nil)
	maxI, maxJ := m.GetHeight(), m.GetWidth()
	iSkip := (3 * maxI) / (4 * detector.FinderPatternFinder_MAX_MODULES)
	if iSkip < detector.FinderPatternFinder_MIN_SKIP || tryHarder {
		iSkip = detector.FinderPatternFinder_MIN_SKIP
	}
	// skipped mirrors the finder's unexported hasSkipped, which FindRowSkip sets once two
	// centres are confirmed.
	skipped := false
	rowSkip := func() int {
		if confirmed(f.GetPossibleCenters()) >= 2 {
			skipped = true
		}
		return f.FindRowSkip()
	}
	done := false
	stateCount := make([]int, 5)
	// Each row is read a run of one colour at a time, from its words: gozxing's state machine
	// steps pixel by pixel, and only the first white pixel after a fifth run (state 4) can end
	// a pattern, so a run's other pixels only add to its count. m.Get per pixel was a fifth of
	// a Thorough decode.
	row := gozxing.NewBitArray(maxJ)
	for i := iSkip - 1; i < maxI && !done; i += iSkip {
		detector.FinderPatternFinder_ClearCounts(stateCount)
		currentState := 0
		row = m.GetRow(i, row)
		words := row.GetBitArray()
		for j := 0; j < maxJ; {
			black := words[j>>5]>>(uint(j)&31)&1 != 0
			n := runLength(words, j, maxJ, black)
			if black {
				if currentState&1 == 1 {
					currentState++
				}
				stateCount[currentState] += n
				j += n
				continue
			}
			if currentState&1 == 1 {
				stateCount[currentState] += n
				j += n
				continue
			}
			if currentState != 4 {
				currentState++
				stateCount[currentState] += n
				j += n
				continue
			}
			// The first white pixel after five runs, at j: a pattern ends here or not.
			if !detector.FinderPatternFinder_foundPatternCross(stateCount) || !f.HandlePossibleCenter(stateCount, i, j) {
				// Not one: the last two runs start the next try, this white run counted in
				// the fourth.
				detector.FinderPatternFinder_ShiftCounts2(stateCount)
				currentState = 3
				stateCount[3] += n - 1
				j += n
				continue
			}
			iSkip = 2
			skipRow := false
			if skipped {
				done = f.HaveMultiplyConfirmedCenters()
			} else if rs := rowSkip(); rs > stateCount[2] {
				i += rs - stateCount[2] - iSkip
				skipRow = true
			}
			currentState = 0
			detector.FinderPatternFinder_ClearCounts(stateCount)
			if skipRow {
				break
			}
			// The rest of the white run, from j+1, as gozxing reads it after a pattern: a
			// white pixel in state 0 moves to state 1.
			if n > 1 {
				currentState = 1
				stateCount[1] = n - 1
			}
			j += n
		}
		if detector.FinderPatternFinder_foundPatternCross(stateCount) && f.HandlePossibleCenter(stateCount, i, maxJ) {
			iSkip = stateCount[0]
			if skipped {
				done = f.HaveMultiplyConfirmedCenters()
			}
		}
	}
	fps, err := bestTriple(f.GetPossibleCenters())
	if err != nil {
		return nil, err
	}
	bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(fps[0], fps[1], fps[2])
	return detector.NewFinderPatternInfo(bl.(*detector.FinderPattern), tl.(*detector.FinderPattern), tr.(*detector.FinderPattern)), nil
}

// confirmed counts the centres seen on enough rows to be trusted.
func confirmed(centers []*detector.FinderPattern) int {
	n := 0
	for _, c := range centers {
		if c.GetCount() >= detector.FinderPatternFinder_CENTER_QUORUM {
			n++
		}
	}
	return n
}

// bestTriple is gozxing's SelectBestPatterns: the three centres of similar module size that are
// closest to an isosceles right triangle. It sorts centers as gozxing does.
func bestTriple(centers []*detector.FinderPattern) ([3]*detector.FinderPattern, error) {
	var best [3]*detector.FinderPattern
	if len(centers) < 3 {
		return best, gozxing.NewNotFoundException("startSize = %v", len(centers))
	}
	sort.Slice(centers, func(i, j int) bool {
		return centers[j].GetEstimatedModuleSize() > centers[i].GetEstimatedModuleSize()
	})
	distortion := math.MaxFloat64
	for i := 0; i < len(centers)-2; i++ {
		fpi := centers[i]
		limit := fpi.GetEstimatedModuleSize() * 1.4
		for j := i + 1; j < len(centers)-1; j++ {
			fpj := centers[j]
			if centers[j+1].GetEstimatedModuleSize() > limit {
				break // every k > j is larger still
			}
			square0 := sqDist(fpi, fpj)
			for k := j + 1; k < len(centers); k++ {
				fpk := centers[k]
				if fpk.GetEstimatedModuleSize() > limit {
					break
				}
				a, b, c := square0, sqDist(fpj, fpk), sqDist(fpi, fpk)
				// Sorted ascending, as gozxing does it inline.
				if a < b {
					if b > c {
						if a < c {
							b, c = c, b
						} else {
							a, b, c = c, a, b
						}
					}
				} else {
					if b < c {
						if a < c {
							a, b = b, a
						} else {
							a, b, c = b, c, a
						}
					} else {
						a, c = c, a
					}
				}
				// An isosceles right triangle has c = 2a = 2b for the squared sides.
				if d := math.Abs(c-2*b) + math.Abs(c-2*a); d < distortion {
					distortion = d
					best = [3]*detector.FinderPattern{fpi, fpj, fpk}
				}
			}
		}
	}
	if distortion == math.MaxFloat64 {
		return best, gozxing.NewNotFoundException("module size is too different")
	}
	return best, nil
}

func sqDist(a, b *detector.FinderPattern) float64 {
	x, y := a.GetX()-b.GetX(), a.GetY()-b.GetY()
	return x*x + y*y
}

// runLength returns how many pixels from j on, before width, have the colour black in the
// row's words (bit set for black).
func runLength(words []uint32, j, width int, black bool) int {
	n := 0
	for j+n < width {
		w := words[(j+n)>>5]
		if !black {
			w = ^w
		}
		off := uint(j+n) & 31
		// Ones from off on are the run; the shift fills with zeros, so cap at the word's end.
		t := min(bits.TrailingZeros32(^(w >> off)), int(32-off))
		n += t
		if t < int(32-off) {
			break
		}
	}
	return min(n, width-j)
}

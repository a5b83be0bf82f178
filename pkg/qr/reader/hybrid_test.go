package reader

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// TestHybridAsGozxing checks that hybridThreshold makes exactly gozxing's hybrid matrix: on
// real frames, inverted too, and on noise planes of awkward sizes (not multiples of the block,
// below the minimum), where the moved last blocks overlap.
func TestHybridAsGozxing(t *testing.T) {
	planes := binarizerPlanes(t)
	for i := range planes {
		p := &planes[i]
		for _, inverted := range []bool{false, true} {
			want, err := gozxing.NewHybridBinarizer(source{polarity(p, inverted)}).GetBlackMatrix()
			if err != nil {
				t.Fatal(err)
			}
			got, err := binarize(hybrid, p, inverted, dirtyScratch(p))
			if err != nil {
				t.Fatal(err)
			}
			sameMatrix(t, fmt.Sprintf("plane %d (%d×%d), inverted %v", i, p.w, p.h, inverted), got, want)
		}
	}
}

// dirtyScratch returns scratch space as a worker's is after other steps: a spare matrix of p's
// size with every bit set, and counters and block values, longer than p needs, full of
// garbage. A binarizer must write over all of it.
func dirtyScratch(p *plane) *scratch {
	m, err := gozxing.NewBitMatrix(max(p.w, 1), max(p.h, 1))
	if err != nil {
		panic(err)
	}
	m.SetRegion(0, 0, m.GetWidth(), m.GetHeight())
	s := &scratch{spare: m, sums: make([]uint32, 2*p.w+9), black: make([]int, p.w*p.h), thr: make([]int, p.w*p.h)}
	for i := range s.sums {
		s.sums[i] = 0xdeadbeef
	}
	for i := range s.black {
		s.black[i], s.thr[i] = 977, -5
	}
	return s
}

// polarity returns p, or a negative copy of it when inverted: what binarize must read p as.
func polarity(p *plane, inverted bool) *plane {
	if !inverted {
		return p
	}
	var inv plane
	invert(&inv, p)
	return &inv
}

// sameMatrix fails the test at the first pixel where got and want differ.
func sameMatrix(t *testing.T, what string, got, want *gozxing.BitMatrix) {
	t.Helper()
	if got.GetWidth() != want.GetWidth() || got.GetHeight() != want.GetHeight() {
		t.Fatalf("%s: %d×%d matrix, want %d×%d", what, got.GetWidth(), got.GetHeight(), want.GetWidth(), want.GetHeight())
	}
	for y := 0; y < want.GetHeight(); y++ {
		for x := 0; x < want.GetWidth(); x++ {
			if got.Get(x, y) != want.Get(x, y) {
				t.Fatalf("%s: pixel (%d, %d) is %v, want %v", what, x, y, got.Get(x, y), want.Get(x, y))
			}
		}
	}
}

// binarizerPlanes are the planes a binarizer is checked against gozxing's on: real frames,
// inverted too, and noise planes of awkward sizes (not multiples of the block, below the
// minimum), where the moved last blocks overlap.
func binarizerPlanes(t *testing.T) []plane {
	t.Helper()
	var planes []plane
	for _, f := range loadFolder(t, "testdata/camera", ".jpg", "the committed frames are missing") {
		var g, inv plane
		g.setGray(f.img)
		invert(&inv, &g)
		planes = append(planes, g, inv)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range [][2]int{{40, 40}, {41, 57}, {39, 100}, {100, 39}, {123, 77}, {256, 64}, {333, 201}} {
		p := plane{w: size[0], h: size[1], pix: make([]byte, size[0]*size[1])}
		for i := range p.pix {
			// Flat patches and contrast both, so both black-point rules are used.
			if rng.IntN(3) == 0 {
				p.pix[i] = byte(100 + rng.IntN(20))
			} else {
				p.pix[i] = byte(rng.IntN(256))
			}
		}
		planes = append(planes, p)
	}
	return planes
}

// TestGlobalAsGozxing checks that globalThreshold makes exactly gozxing's global histogram
// matrix, and refuses the same low-contrast planes, on the same planes as the hybrid test and
// on flat ones.
func TestGlobalAsGozxing(t *testing.T) {
	planes := binarizerPlanes(t)
	for _, v := range []byte{0, 128, 255} {
		p := plane{w: 64, h: 48, pix: make([]byte, 64*48)}
		for i := range p.pix {
			p.pix[i] = v
		}
		planes = append(planes, p)
	}
	for i := range planes {
		p := &planes[i]
		for _, inverted := range []bool{false, true} {
			what := fmt.Sprintf("plane %d (%d×%d), inverted %v", i, p.w, p.h, inverted)
			want, wantErr := gozxing.NewGlobalHistgramBinarizer(source{polarity(p, inverted)}).GetBlackMatrix()
			got, err := binarize(global, p, inverted, dirtyScratch(p))
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%s: error %v, gozxing's %v", what, err, wantErr)
			}
			if err == nil {
				sameMatrix(t, what, got, want)
			}
		}
	}
}

// TestAdaptiveWindowMeans checks the adaptive threshold against its definition, computed
// another way: each pixel against the mean of its window, the window's sum read from a table
// of sums over the whole plane, in both polarities, on the same planes as the hybrid test.
func TestAdaptiveWindowMeans(t *testing.T) {
	planes := binarizerPlanes(t)
	for i := range planes {
		p := &planes[i]
		for _, inverted := range []bool{false, true} {
			got, err := binarize(adaptive, p, inverted, dirtyScratch(p))
			if err != nil {
				t.Fatal(err)
			}
			sameMatrix(t, fmt.Sprintf("plane %d (%d×%d), inverted %v", i, p.w, p.h, inverted), got, windowMeans(polarity(p, inverted)))
		}
	}
}

// windowMeans is the adaptive threshold by a summed-area table: black where a pixel is below
// 15/16 of the mean of the window of radius max(min(w, h)/16, 4) around it, cut by the edges.
func windowMeans(p *plane) *gozxing.BitMatrix {
	w, h := p.w, p.h
	table := make([]uint64, (w+1)*(h+1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			table[(y+1)*(w+1)+x+1] = uint64(p.pix[y*w+x]) + table[y*(w+1)+x+1] + table[(y+1)*(w+1)+x] - table[y*(w+1)+x]
		}
	}
	r := max(min(w, h)/16, 4)
	m, _ := gozxing.NewBitMatrix(w, h)
	for y := 0; y < h; y++ {
		y0, y1 := max(y-r, 0), min(y+r+1, h)
		for x := 0; x < w; x++ {
			x0, x1 := max(x-r, 0), min(x+r+1, w)
			sum := table[y1*(w+1)+x1] - table[y0*(w+1)+x1] - table[y1*(w+1)+x0] + table[y0*(w+1)+x0]
			n := uint64((y1 - y0) * (x1 - x0))
			if uint64(p.pix[y*w+x])*n*16 < sum*15 {
				m.Set(x, y)
			}
		}
	}
	return m
}

// invert writes the negative of src into dst: the plane that binarize reads when inverted,
// made as it was before binarize read it so, for the tests that check the two agree.
func invert(dst, src *plane) {
	dst.resize(src.w, src.h)
	for i, v := range src.pix {
		dst.pix[i] = 255 - v
	}
}

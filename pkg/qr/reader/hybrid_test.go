package reader

import (
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
		want, err := gozxing.NewHybridBinarizer(source{p}).GetBlackMatrix()
		if err != nil {
			t.Fatal(err)
		}
		got, err := hybridThreshold(p)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				if got.Get(x, y) != want.Get(x, y) {
					t.Fatalf("plane %d (%d×%d): pixel (%d, %d) is %v, gozxing's %v", i, p.w, p.h, x, y, got.Get(x, y), want.Get(x, y))
				}
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
		want, wantErr := gozxing.NewGlobalHistgramBinarizer(source{p}).GetBlackMatrix()
		got, err := globalThreshold(p)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("plane %d (%d×%d): error %v, gozxing's %v", i, p.w, p.h, err, wantErr)
		}
		if err != nil {
			continue
		}
		for y := 0; y < p.h; y++ {
			for x := 0; x < p.w; x++ {
				if got.Get(x, y) != want.Get(x, y) {
					t.Fatalf("plane %d (%d×%d): pixel (%d, %d) is %v, gozxing's %v", i, p.w, p.h, x, y, got.Get(x, y), want.Get(x, y))
				}
			}
		}
	}
}

package reader

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBilinearRow checks the fixed-point sampling of rotate and enlarge against the
// floating-point reference: no sample may differ by more than one level.
func TestBilinearRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := plane{w: 97, h: 61}
	p.pix = make([]byte, p.w*p.h)
	for i := range p.pix {
		p.pix[i] = byte(rng.IntN(256))
	}
	for _, tc := range []struct{ x, y, dx, dy float64 }{
		{-0.25, 3.5, 0.5, 0},                          // enlarge ×2
		{-12.3, 40.7, math.Cos(0.4), -math.Sin(0.4)},  // rotate, leaving the plane
		{50.1, -3, math.Cos(-0.79), -math.Sin(-0.79)}, // about -45°
		{96.5, 60.5, -1, 0},                           // backwards from the corner
	} {
		row := make([]byte, 140)
		p.bilinearRow(row, tc.x, tc.y, tc.dx, tc.dy)
		for i, got := range row {
			want := p.bilinear(tc.x+float64(i)*tc.dx, tc.y+float64(i)*tc.dy)
			if d := int(got) - int(want); d < -1 || d > 1 {
				t.Fatalf("from (%v, %v) step (%v, %v): sample %d = %d, want %d", tc.x, tc.y, tc.dx, tc.dy, i, got, want)
			}
		}
	}
}

// TestBlurDivision checks the reciprocal that replaces blur's division on every sum it can
// meet.
func TestBlurDivision(t *testing.T) {
	for r := 1; r <= 8; r++ {
		n := 2*r + 1
		m := reciprocal(n)
		for s := uint32(0); s <= uint32(255*n); s++ {
			if got, want := byte(uint64(s)*m>>32), byte(s/uint32(n)); got != want {
				t.Fatalf("radius %d: %d/%d = %d, want %d", r, s, n, got, want)
			}
		}
	}
}

// TestBlurAsDefined checks blur against its definition computed pixel by pixel: each row's
// box mean (rounded down), then each column's box mean of those, the edge pixels repeated
// beyond the image, for the radii the decoder uses and on planes shorter than the window.
func TestBlurAsDefined(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, size := range [][2]int{{1, 1}, {3, 2}, {17, 5}, {64, 48}, {123, 77}} {
		src := plane{w: size[0], h: size[1], pix: make([]byte, size[0]*size[1])}
		for i := range src.pix {
			src.pix[i] = byte(rng.IntN(256))
		}
		for r := 1; r <= 3; r++ {
			var dst, tmp plane
			blur(&dst, &tmp, &src, r)
			w, h, n := src.w, src.h, 2*r+1
			at := func(p []byte, x, y int) int { return int(p[clampi(y, h)*w+clampi(x, w)]) }
			rows := make([]byte, w*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					s := 0
					for k := -r; k <= r; k++ {
						s += at(src.pix, x+k, y)
					}
					rows[y*w+x] = byte(s / n)
				}
			}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					s := 0
					for k := -r; k <= r; k++ {
						s += at(rows, x, y+k)
					}
					if got, want := dst.pix[y*w+x], byte(s/n); got != want {
						t.Fatalf("%d×%d, radius %d: pixel (%d, %d) is %d, want %d", w, h, r, x, y, got, want)
					}
				}
			}
		}
	}
}

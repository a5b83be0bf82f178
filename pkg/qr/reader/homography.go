package reader

import "math"

// homography is a projective map of the plane as a row-major 3×3 matrix; here it takes module
// coordinates of a symbol to image coordinates.
type homography [9]float64

func (h homography) apply(x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

func (h homography) times(g homography) homography {
	var out homography
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				out[3*i+j] += h[3*i+k] * g[3*k+j]
			}
		}
	}
	return out
}

// normaliser returns the similarity that moves pts' centroid to the origin and scales their
// mean distance from it to √2, and its inverse.
func normaliser(pts [][2]float64) (fwd, back homography) {
	var cx, cy float64
	for _, p := range pts {
		cx += p[0]
		cy += p[1]
	}
	n := float64(len(pts))
	cx, cy = cx/n, cy/n
	var d float64
	for _, p := range pts {
		d += math.Hypot(p[0]-cx, p[1]-cy)
	}
	s := math.Sqrt2 / max(d/n, 1e-9)
	fwd = homography{s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1}
	back = homography{1 / s, 0, cx, 0, 1 / s, cy, 0, 0, 1}
	return fwd, back
}

// fitHomography finds the projective map that best takes each src point to its dst point in
// the least-squares sense; it needs four or more points, no three on a line. Fitting to every
// alignment pattern found, instead of through exactly four points, spreads the error of each
// located centre over the whole symbol.
func fitHomography(src, dst [][2]float64) (homography, bool) {
	if len(src) < 4 || len(src) != len(dst) {
		return homography{}, false
	}
	// Normalised coordinates keep the normal equations well conditioned.
	ns, _ := normaliser(src)
	nd, ndBack := normaliser(dst)
	var a [8][9]float64 // normal equations, augmented with the right-hand side
	for i := range src {
		x, y := ns.apply(src[i][0], src[i][1])
		u, v := nd.apply(dst[i][0], dst[i][1])
		rows := [2][9]float64{
			{x, y, 1, 0, 0, 0, -x * u, -y * u, u},
			{0, 0, 0, x, y, 1, -x * v, -y * v, v},
		}
		for _, r := range rows {
			for j := 0; j < 8; j++ {
				for k := 0; k < 9; k++ {
					a[j][k] += r[j] * r[k]
				}
			}
		}
	}
	// Gaussian elimination with partial pivoting.
	for c := 0; c < 8; c++ {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return homography{}, false
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < 8; r++ {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k < 9; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var hn homography
	for i := 0; i < 8; i++ {
		hn[i] = a[i][8] / a[i][i]
	}
	hn[8] = 1
	return ndBack.times(hn).times(ns), true
}

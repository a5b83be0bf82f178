package reader

import "math"

// affine maps a point of a derived plane back to the plane it was made from:
// x' = a*x + b*y + c, y' = d*x + e*y + f. Corners found on a scaled or rotated
// copy are reported in the caller's coordinates through it.
type affine struct{ a, b, c, d, e, f float64 }

var identity = affine{a: 1, e: 1}

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.c, m.d*x + m.e*y + m.f
}

// then returns the map that applies m first and n second.
func (m affine) then(n affine) affine {
	return affine{
		a: n.a*m.a + n.b*m.d, b: n.a*m.b + n.b*m.e, c: n.a*m.c + n.b*m.f + n.c,
		d: n.d*m.a + n.e*m.d, e: n.d*m.b + n.e*m.e, f: n.d*m.c + n.e*m.f + n.f,
	}
}

// shrink averages k×k blocks. A code that fills a large frame has modules many pixels wide;
// averaging removes moiré and sensor noise and makes the finder search cheaper.
func shrink(dst, src *plane, k int) affine {
	w, h := src.w/k, src.h/k
	dst.resize(w, h)
	n := uint32(k * k)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var sum uint32
			for yy := y * k; yy < y*k+k; yy++ {
				row := src.pix[yy*src.w+x*k : yy*src.w+x*k+k]
				for _, v := range row {
					sum += uint32(v)
				}
			}
			dst.pix[y*w+x] = byte(sum / n)
		}
	}
	s := float64(k)
	return affine{a: s, c: s/2 - 0.5, e: s, f: s/2 - 0.5}
}

// enlarge scales by a factor with bilinear interpolation. Modules of one or two pixels defeat
// the finder-pattern run-length checks; interpolated modules of three or more pass them.
func enlarge(dst, src *plane, scale float64) affine {
	w, h := int(float64(src.w)*scale), int(float64(src.h)*scale)
	dst.resize(w, h)
	inv := 1 / scale
	for y := 0; y < h; y++ {
		sy := (float64(y)+0.5)*inv - 0.5
		src.bilinearRow(dst.pix[y*w:(y+1)*w], 0.5*inv-0.5, sy, inv, 0)
	}
	return affine{a: inv, c: 0.5*inv - 0.5, e: inv, f: 0.5*inv - 0.5}
}

// rotate turns src by angle radians about its centre into a canvas large enough to hold it.
// The finder-pattern search scans rows and columns; near 45° its run-length ratios are
// stretched by √2 and some codes are only found once turned.
func rotate(dst, src *plane, angle float64) affine {
	sin, cos := math.Sincos(angle)
	w := int(math.Abs(float64(src.w)*cos) + math.Abs(float64(src.h)*sin) + 0.5)
	h := int(math.Abs(float64(src.w)*sin) + math.Abs(float64(src.h)*cos) + 0.5)
	dst.resize(w, h)
	cx, cy := float64(src.w)/2, float64(src.h)/2
	dx, dy := float64(w)/2, float64(h)/2
	// back maps a destination pixel to the source: rotate by -angle about the centres.
	back := affine{a: cos, b: sin, c: cx - cos*dx - sin*dy, d: -sin, e: cos, f: cy + sin*dx - cos*dy}
	for y := 0; y < h; y++ {
		sx, sy := back.apply(0, float64(y))
		src.bilinearRow(dst.pix[y*w:(y+1)*w], sx, sy, back.a, back.d)
	}
	return back
}

// bilinearRow fills row with samples of p from (x, y) in steps of (dx, dy), as bilinear would,
// in 16.16 fixed point: turning a 1280×720 frame took 40 ms in floating point.
func (p *plane) bilinearRow(row []byte, x, y, dx, dy float64) {
	const one = 1 << 16
	maxX, maxY := int64(p.w-1)*one, int64(p.h-1)*one
	fx, fy := int64(math.Round(x*one)), int64(math.Round(y*one))
	sx, sy := int64(math.Round(dx*one)), int64(math.Round(dy*one))
	for i := range row {
		cx, cy := min(max(fx, 0), maxX), min(max(fy, 0), maxY)
		x0, y0 := int(cx>>16), int(cy>>16)
		x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
		ax, ay := cx&(one-1), cy&(one-1)
		r0, r1 := p.pix[y0*p.w:], p.pix[y1*p.w:]
		top := int64(r0[x0])*(one-ax) + int64(r0[x1])*ax
		bot := int64(r1[x0])*(one-ax) + int64(r1[x1])*ax
		row[i] = byte((top*(one-ay) + bot*ay + one*one/2) >> 32)
		fx += sx
		fy += sy
	}
}

// stretch maps the 1st to 99th percentile of luminance onto the full range. Dim screens and
// grey-on-grey prints leave the hybrid binarizer's blocks below its minimum dynamic range, so
// it calls them all white.
func stretch(dst, src *plane) {
	dst.resize(src.w, src.h)
	var hist [256]int
	for _, v := range src.pix {
		hist[v]++
	}
	n := len(src.pix)
	lo, hi := 0, 255
	for acc := 0; lo < 255 && acc+hist[lo] <= n/100; lo++ {
		acc += hist[lo]
	}
	for acc := 0; hi > 0 && acc+hist[hi] <= n/100; hi-- {
		acc += hist[hi]
	}
	if hi <= lo {
		copy(dst.pix, src.pix)
		return
	}
	var lut [256]byte
	for i := range lut {
		v := (i - lo) * 255 / (hi - lo)
		lut[i] = byte(min(max(v, 0), 255))
	}
	for i, v := range src.pix {
		dst.pix[i] = lut[v]
	}
}

// blur is a separable box blur of the given radius, the image's edge pixels repeated beyond
// it. Screens photographed close up show a moiré of sub-pixels and JPEG ringing that splits
// modules; a blur merges them. The rows are blurred into tmp as the columns' running sums need
// them, tmp holding only the last 2r+2: a whole blurred copy would be memory that a process
// decoding one photo touches for the first time, which costs more than the blur.
func blur(dst, tmp, src *plane, r int) {
	w, h := src.w, src.h
	dst.resize(w, h)
	ring := 2*r + 2
	tmp.resize(w, ring)
	m := reciprocal(2*r + 1)
	made := -1 // the last source row blurred into tmp
	row := func(y int) []byte {
		y = clampi(y, h)
		for made < y {
			made++
			boxRow(tmp.pix[(made%ring)*w:][:w], src.pix[made*w:][:w], r, m)
		}
		return tmp.pix[(y%ring)*w:][:w]
	}
	// Columns: running sums of whole rows, so that memory is read in order.
	sum := make([]uint32, w)
	for k := -r; k <= r; k++ {
		for x, v := range row(k) {
			sum[x] += uint32(v)
		}
	}
	for y := 0; y < h; y++ {
		out := dst.pix[y*w : (y+1)*w]
		// The row leaving the window is read before the one entering it is made: the ring's
		// 2r+2 rows hold both.
		sub := row(y - r)
		add := row(y + r + 1)
		for x := range out {
			out[x] = byte(uint64(sum[x]) * m >> 32)
			sum[x] += uint32(add[x]) - uint32(sub[x])
		}
	}
}

// reciprocal returns m such that s*m>>32 is s/n rounded down for any sum s of n bytes: a
// division per pixel was most of a blur's time.
func reciprocal(n int) uint64 {
	return uint64(1<<32)/uint64(n) + 1
}

// boxRow blurs one row of src into out; m is reciprocal(2*r+1).
func boxRow(out, src []byte, r int, m uint64) {
	w := len(src)
	var sum uint32
	for k := -r; k <= r; k++ {
		sum += uint32(src[clampi(k, w)])
	}
	for x := range out {
		out[x] = byte(uint64(sum) * m >> 32)
		sum += uint32(src[clampi(x+r+1, w)]) - uint32(src[clampi(x-r, w)])
	}
}

func clampi(i, n int) int {
	return min(max(i, 0), n-1)
}

package reader

import (
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// resampled tries several sampling grids over the finder patterns found in m.
//
// gozxing's detector sets up one grid: the dimension rounded from the distance between finder
// patterns, and the bottom-right anchor at the alignment pattern or, failing that, at the
// corner of a parallelogram. Photos at an angle, blur and curved paper put that one grid a
// module off, or the dimension a version off, and the symbol fails its error correction
// although every pattern was found. Here neighbouring dimensions and anchors are tried as well,
// each also refined by a fit to all alignment patterns; each try costs one sampling and one
// Reed-Solomon decoding, far less than another binarization. The anchors as found come first,
// for every dimension; anchors moved by a fraction of a module (nudged) only after, since they
// are many and rarely needed. When stop (if not nil) says so, it gives up between grids.
func resampled(m *gozxing.BitMatrix, info *detector.FinderPatternInfo, hints map[gozxing.DecodeHintType]any, nudged bool, stop func() bool) (symbol, error) {
	tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
	ms := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
	if ms < 1 {
		return symbol{}, gozxing.NewNotFoundException("module size %v", ms)
	}
	d := (gozxing.ResultPoint_Distance(tl, tr)+gozxing.ResultPoint_Distance(tl, bl))/(2*ms) + 7
	base := 4*int(math.Round((d-17)/4)) + 17
	dec := decoder.NewDecoder()
	var lastErr error = gozxing.NewNotFoundException("no grid decoded")
	fitted := map[homography]bool{}
	// near records that some grid read format and version information and failed only its
	// error correction: the patterns are a code's, and its grid is nearly right.
	near := false
	try := func(dim int, anchor *detector.AlignmentPattern) (symbol, bool) {
		if stop != nil && stop() {
			lastErr = errAbandoned
			return symbol{}, false
		}
		t := detector.Detector_createTransform(tl, tr, bl, anchor, dim)
		bits, err := detector.Detector_sampleGrid(m, t, dim)
		if err != nil {
			lastErr = err
			return symbol{}, false
		}
		res, err := dec.Decode(bits, hints)
		if err == nil {
			return symbolFrom(res, transformProjector(t), dim), true
		}
		lastErr = err
		if _, ok := err.(gozxing.ChecksumException); ok {
			near = true
		}
		if dim == 21 {
			return symbol{}, false // version 1 has no alignment pattern to refine with
		}
		h, ok := refine(m, transformProjector(t), tl, tr, bl, ms, dim)
		if !ok || fitted[h] {
			// Nearby anchors often lead the fit to the same alignment patterns, and so to
			// the same grid, which has already failed.
			return symbol{}, false
		}
		fitted[h] = true
		if bits, err = sampleHomography(m, h, dim); err != nil {
			return symbol{}, false
		}
		if res, err = dec.Decode(bits, hints); err == nil {
			return symbolFrom(res, h.apply, dim), true
		}
		if _, ok := err.(gozxing.ChecksumException); ok {
			near = true
		}
		return symbol{}, false
	}
	var dims []int
	var points []anchorPoints
	for _, dim := range []int{base, base + 4, base - 4} {
		if dim < 21 || dim > 177 {
			continue
		}
		dims = append(dims, dim)
		points = append(points, anchorsFor(m, tl, tr, bl, ms, dim))
	}
	for i, dim := range dims {
		for _, anchor := range points[i].exact() {
			if s, ok := try(dim, anchor); ok {
				return s, nil
			}
		}
	}
	if nudged && near {
		// Nudged anchors only for a code whose grid came close: the finder-pattern triples
		// that a screen's text makes never do, and they would pay for every nudge.
		for i, dim := range dims {
			for _, anchor := range points[i].nudged(ms) {
				if s, ok := try(dim, anchor); ok {
					return s, nil
				}
			}
		}
	}
	return symbol{}, lastErr
}

// anchorPoints are where the bottom-right anchor of a grid of one dimension may go: the
// alignment pattern if one is found near where the dimension puts it, and that expected point.
type anchorPoints struct {
	found    *detector.AlignmentPattern
	expected *detector.AlignmentPattern // nil for version 1
}

func anchorsFor(m *gozxing.BitMatrix, tl, tr, bl *detector.FinderPattern, ms float64, dim int) anchorPoints {
	if dim <= 21 {
		return anchorPoints{}
	}
	brX := tr.GetX() - tl.GetX() + bl.GetX()
	brY := tr.GetY() - tl.GetY() + bl.GetY()
	// The alignment pattern used for the transform sits 3 modules in from the corner finder
	// pattern that a square code would have.
	k := 1 - 3/float64(dim-7)
	ex := tl.GetX() + k*(brX-tl.GetX())
	ey := tl.GetY() + k*(brY-tl.GetY())
	return anchorPoints{findAlignment(m, ex, ey, ms), detector.NewAlignmentPattern(ex, ey, ms)}
}

// exact lists the anchors as found, then nil (the parallelogram itself).
func (a anchorPoints) exact() []*detector.AlignmentPattern {
	var out []*detector.AlignmentPattern
	if a.found != nil {
		out = append(out, a.found)
	}
	if a.expected != nil {
		out = append(out, a.expected)
	}
	return append(out, nil)
}

// nudged lists the anchors moved by up to a module in each direction.
func (a anchorPoints) nudged(ms float64) []*detector.AlignmentPattern {
	var out []*detector.AlignmentPattern
	for _, p := range []*detector.AlignmentPattern{a.found, a.expected} {
		if p == nil {
			continue
		}
		for _, off := range nudges {
			out = append(out, detector.NewAlignmentPattern(p.GetX()+off[0]*ms, p.GetY()+off[1]*ms, ms))
		}
	}
	return out
}

// nudges are offsets in modules around an anchor.
var nudges = [][2]float64{
	{-0.5, 0}, {0.5, 0}, {0, -0.5}, {0, 0.5},
	{-0.5, -0.5}, {0.5, 0.5}, {-0.5, 0.5}, {0.5, -0.5},
	{-1, 0}, {1, 0}, {0, -1}, {0, 1},
}

// findAlignment looks for an alignment pattern in a growing region around (x, y).
func findAlignment(m *gozxing.BitMatrix, x, y, ms float64) *detector.AlignmentPattern {
	for f := 4.0; f <= 16; f *= 2 {
		r := int(f * ms)
		x0, y0 := max(int(x)-r, 0), max(int(y)-r, 0)
		x1, y1 := min(int(x)+r, m.GetWidth()-1), min(int(y)+r, m.GetHeight()-1)
		if float64(x1-x0) < 3*ms || float64(y1-y0) < 3*ms {
			return nil
		}
		ap, nf := detector.NewAlignmentPatternFinder(m, x0, y0, x1-x0, y1-y0, ms, nil).Find()
		if nf == nil && ap != nil {
			return ap
		}
	}
	return nil
}

// refine locates the alignment patterns of a dim×dim symbol near where project (module
// coordinates to image) predicts them and fits a homography to them and the finder-pattern
// centres. Perspective and a curved page move the far alignment patterns by modules, which one
// anchor point cannot express; a fit to all of them can.
func refine(m *gozxing.BitMatrix, project func(x, y float64) (float64, float64), tl, tr, bl *detector.FinderPattern, ms float64, dim int) (homography, bool) {
	ver, err := decoder.Version_GetProvisionalVersionForDimension(dim)
	if err != nil {
		return homography{}, false
	}
	centres := ver.GetAlignmentPatternCenters()
	last := len(centres) - 1
	d := float64(dim)
	src := [][2]float64{{3.5, 3.5}, {d - 3.5, 3.5}, {3.5, d - 3.5}}
	dst := [][2]float64{{tl.GetX(), tl.GetY()}, {tr.GetX(), tr.GetY()}, {bl.GetX(), bl.GetY()}}
	fixed := len(src)
	var h homography
	fitted := false
	// Two rounds: the second searches again where the first fit predicts, which finds the
	// patterns that the finder-pattern transform alone placed too far off.
	for round := 0; round < 2; round++ {
		src, dst = src[:fixed], dst[:fixed]
		for i, cy := range centres {
			for j, cx := range centres {
				if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) {
					continue // under a finder pattern
				}
				mx, my := float64(cx)+0.5, float64(cy)+0.5
				px, py := project(mx, my)
				if fitted {
					px, py = h.apply(mx, my)
				}
				if ap := findAlignmentNear(m, px, py, ms); ap != nil {
					src = append(src, [2]float64{mx, my})
					dst = append(dst, [2]float64{ap.GetX(), ap.GetY()})
				}
			}
		}
		g, ok := fitHomography(src, dst)
		if !ok {
			break
		}
		h, fitted = g, true
	}
	return h, fitted
}

// findAlignmentNear returns an alignment pattern within two modules of (x, y), if one is there.
func findAlignmentNear(m *gozxing.BitMatrix, x, y, ms float64) *detector.AlignmentPattern {
	r := int(math.Ceil(3 * ms))
	x0, y0 := max(int(x)-r, 0), max(int(y)-r, 0)
	x1, y1 := min(int(x)+r, m.GetWidth()-1), min(int(y)+r, m.GetHeight()-1)
	if float64(x1-x0) < 3*ms || float64(y1-y0) < 3*ms {
		return nil
	}
	ap, nf := detector.NewAlignmentPatternFinder(m, x0, y0, x1-x0, y1-y0, ms, nil).Find()
	if nf != nil || ap == nil || math.Hypot(ap.GetX()-x, ap.GetY()-y) > 2*ms {
		return nil
	}
	return ap
}

// sampleHomography reads the module at the centre of each cell of a dim×dim grid through h.
// Cells that fall outside the image read as light, so a symbol cut by the frame edge can
// still be corrected if little of it is missing.
func sampleHomography(m *gozxing.BitMatrix, h homography, dim int) (*gozxing.BitMatrix, error) {
	bits, err := gozxing.NewSquareBitMatrix(dim)
	if err != nil {
		return nil, err
	}
	w, ht := m.GetWidth(), m.GetHeight()
	outside := 0
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			fx, fy := h.apply(float64(x)+0.5, float64(y)+0.5)
			ix, iy := int(math.Floor(fx)), int(math.Floor(fy))
			if ix < 0 || iy < 0 || ix >= w || iy >= ht || math.IsNaN(fx) || math.IsNaN(fy) {
				outside++
				continue
			}
			if m.Get(ix, iy) {
				bits.Set(x, y)
			}
		}
	}
	if outside > dim*dim/10 {
		return nil, gozxing.NewNotFoundException("grid outside the image")
	}
	return bits, nil
}

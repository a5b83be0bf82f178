package reader

import (
	"math"
	"strconv"
)

// attempt is one binarization of a pass's plane, in one polarity.
type attempt struct {
	bin      binarizer
	inverted bool
}

func (a attempt) String() string {
	if a.inverted {
		return a.bin.String() + "-inverted"
	}
	return a.bin.String()
}

// pass is one way of preparing the luminance plane, with the attempts to make on it.
type pass struct {
	name     string
	prepare  func(d *Decoder) (*plane, affine)
	attempts []attempt
}

// both lists an attempt in the normal polarity and then inverted, for light-on-dark codes.
func both(bins ...binarizer) []attempt {
	var out []attempt
	for _, b := range bins {
		out = append(out, attempt{b, false}, attempt{b, true})
	}
	return out
}

// plan lists the passes for a w×h image, cheapest and most often successful first, so that a
// typical photo is read by the first attempt and the cost of the later ones is paid only by
// hard images.
func (d *Decoder) plan(w, h int) []pass {
	original := pass{"original", func(d *Decoder) (*plane, affine) { return &d.gray, identity }, nil}
	// Large modules: averaging 2×2 removes noise and the moiré of a photographed screen, and
	// a quarter of the pixels makes every attempt on it four times cheaper.
	half := pass{"half", func(d *Decoder) (*plane, affine) {
		return &d.view, shrink(&d.view, &d.gray, 2)
	}, nil}
	short, long := min(w, h), max(w, h)
	if d.Effort == Fast {
		// A webcam frame's code has modules of three pixels or more, so the half-size plane
		// reads most frames; the full one is left for finer codes.
		original.attempts = both(hybrid, global)
		if short < 240 {
			return []pass{original}
		}
		half.attempts = both(hybrid, global, adaptive)
		return []pass{half, original}
	}
	original.attempts = both(hybrid, global, adaptive)
	passes := []pass{original}
	if short >= 240 {
		half.attempts = both(hybrid, adaptive)
		passes = append(passes, half)
	}
	if long <= 2048 {
		// Small modules: interpolating them to twice the size lets the run-length checks pass.
		passes = append(passes, pass{"double", func(d *Decoder) (*plane, affine) {
			return &d.view, enlarge(&d.view, &d.gray, 2)
		}, both(hybrid, global)})
	}
	passes = append(passes,
		pass{"stretch", func(d *Decoder) (*plane, affine) {
			stretch(&d.view, &d.gray)
			return &d.view, identity
		}, both(hybrid, global)},
		pass{"blur1", func(d *Decoder) (*plane, affine) {
			blur(&d.view, &d.scratch, &d.gray, 1)
			return &d.view, identity
		}, both(hybrid, global, adaptive)},
		pass{"blur2", func(d *Decoder) (*plane, affine) {
			blur(&d.view, &d.scratch, &d.gray, 2)
			return &d.view, identity
		}, both(hybrid, global)},
	)
	for _, deg := range []float64{45, 22.5, -22.5} {
		passes = append(passes, pass{"rotate" + strconv.FormatFloat(deg, 'f', -1, 64), func(d *Decoder) (*plane, affine) {
			return &d.view, rotate(&d.view, &d.gray, deg*math.Pi/180)
		}, both(hybrid)})
	}
	return passes
}

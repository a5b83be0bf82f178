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

// pass is one way of preparing the luminance plane from the gray image. prepare writes the
// derived plane into dst (tmp is scratch space) and returns the map back to the gray image's
// coordinates; a nil prepare means the gray image itself.
type pass struct {
	name    string
	prepare func(dst, tmp, gray *plane) affine
	// nudge allows the nudged grids of resampled on this pass's matrices (Thorough only): they
	// are many, and the codes they read had their finder patterns found on the gray image
	// (see plan for the images that get them).
	nudge bool
	// cost is the work of one attempt on this pass's plane relative to one on the gray image
	// (its share of the pixels), and prep that of preparing it; see budget.
	cost, prep float64
}

// step is one attempt on one pass.
type step struct {
	pass int // index in plan.passes
	attempt
}

// plan is what Decode tries on one image, in order: the passes and the steps on them.
type plan struct {
	passes []pass
	steps  []step
}

// add appends steps on the pass named name, which must be in p.passes; a pass that the image
// does not get (too small to halve, too large to double) is skipped.
func (p *plan) add(name string, attempts ...attempt) {
	for i, ps := range p.passes {
		if ps.name == name {
			for _, a := range attempts {
				p.steps = append(p.steps, step{i, a})
			}
			return
		}
	}
}

// Shorthands for the step lists below.
var (
	hyb, hybInv = attempt{hybrid, false}, attempt{hybrid, true}
	glo, gloInv = attempt{global, false}, attempt{global, true}
	ada, adaInv = attempt{adaptive, false}, attempt{adaptive, true}
)

// thoroughBudget bounds the steps of a Thorough plan, in attempts on the whole gray image (see
// pass.cost): on a 1280×720 frame, the steps through the first blur (blur2), about 30 ms of one
// core. A code found by none of the first steps on a frame that large is rarely found by the
// others, and a frame without any code pays for every step; small images, whose attempts cost
// little, get all of them.
const thoroughBudget = 6

// budgetPixels is the image size at which the budget starts to cut the Thorough plan: up to
// it, every step is made.
const budgetPixels = 640 * 480

// plan lists the steps for a w×h image.
//
// Thorough: the order is that of the steps' success on real frames (the camera set of
// scripts/make-camera-set.sh and the shared corpus of photos), weighed by their cost, so that a
// typical photo is read by the first steps and only hard images pay for the later ones. On the
// camera set, the first step reads 22 of the 32 frames read; the budget's six steps and the
// multi-code search after them read all 32 (two frames seen at a slant only by that search);
// the later steps read one more frame, beyond the budget. The stretch steps come after blur2:
// they read no camera frame that the budget misses, and are the first to read one small
// corpus image, which gets every step.
//
// Fast: the half-size plane first, since a webcam frame's code has modules of three pixels or
// more, then the full one for finer codes; on each, the steps that read frames of the camera
// set which the others miss, cheapest first. Hybrid on the half plane and the inverted hybrid
// on either read no frame there that these miss, and were a third of the time of a frame
// without a code.
func (d *Decoder) plan(w, h int) plan {
	short, long := min(w, h), max(w, h)
	// Nudged grids only up to budgetPixels: on a larger frame they were most of the time of
	// the frames that are not read (finder patterns found, no grid decoding), and every code
	// of the camera set and the corpus that they read, a later step of the budget reads too.
	original := pass{name: "original", cost: 1, nudge: w*h <= budgetPixels}
	// Large modules: averaging 2×2 removes noise and the moiré of a photographed screen, and
	// a quarter of the pixels makes every attempt on it four times cheaper.
	half := pass{name: "half", cost: 0.25, prep: 0.2, prepare: func(dst, _, gray *plane) affine {
		return shrink(dst, gray, 2)
	}}
	if d.Effort == Fast {
		if short < 240 {
			p := plan{passes: []pass{original}}
			p.add("original", hyb, hybInv, glo, gloInv)
			return p
		}
		p := plan{passes: []pass{half, original}}
		p.add("half", glo, ada, adaInv)
		p.add("original", glo, hyb, gloInv)
		return p
	}
	p := plan{passes: []pass{original}}
	if short >= 240 {
		p.passes = append(p.passes, half)
	}
	p.passes = append(p.passes,
		pass{name: "stretch", cost: 1, prep: 0.2, prepare: func(dst, _, gray *plane) affine {
			stretch(dst, gray)
			return identity
		}},
		pass{name: "blur1", cost: 1, prep: 0.5, prepare: func(dst, tmp, gray *plane) affine {
			blur(dst, tmp, gray, 1)
			return identity
		}},
		pass{name: "blur2", cost: 1, prep: 0.5, prepare: func(dst, tmp, gray *plane) affine {
			blur(dst, tmp, gray, 2)
			return identity
		}},
	)
	for _, deg := range []float64{-22.5, 22.5, 45} {
		// The canvas of a turned image is larger: up to twice the pixels at 45°.
		grow := math.Abs(math.Cos(deg*math.Pi/180)) + math.Abs(math.Sin(deg*math.Pi/180))
		p.passes = append(p.passes, pass{name: "rotate" + strconv.FormatFloat(deg, 'f', -1, 64), cost: grow * grow, prep: 2 * grow * grow,
			prepare: func(dst, _, gray *plane) affine { return rotate(dst, gray, deg*math.Pi/180) }})
	}
	if long <= 2048 {
		// Small modules: interpolating them to twice the size lets the run-length checks pass.
		p.passes = append(p.passes, pass{name: "double", cost: 4, prep: 4, prepare: func(dst, _, gray *plane) affine {
			return enlarge(dst, gray, 2)
		}})
	}
	// The steps that read codes of the camera set and the corpus, most successful per cost
	// first (the half-size adaptive steps before the gray image's hybrid: they read four
	// frames of the camera set that step 0 misses, the hybrid one); original's hybrid
	// matrices are also what the multi-code search at the end reuses.
	p.add("original", glo)
	p.add("half", ada, adaInv)
	p.add("original", hyb, gloInv)
	p.add("blur2", hyb)
	p.add("stretch", glo, hyb)
	p.add("blur1", hyb, glo)
	p.add("rotate-22.5", hyb)
	p.add("half", hyb)
	p.add("rotate22.5", hyb)
	p.add("original", ada)
	p.add("double", hyb, glo)
	// The rest: steps that read codes, but none that an earlier step misses on those sets.
	p.add("original", hybInv, adaInv)
	p.add("half", hybInv)
	p.add("blur1", ada, hybInv, gloInv, adaInv)
	p.add("blur2", glo, hybInv, gloInv)
	p.add("stretch", hybInv, gloInv)
	p.add("double", hybInv, gloInv)
	p.add("rotate-22.5", hybInv)
	p.add("rotate22.5", hybInv)
	p.add("rotate45", hyb, hybInv)
	if w*h > budgetPixels {
		p.steps = p.steps[:withinBudget(p, thoroughBudget)]
	}
	return p
}

// withinBudget returns how many of p's first steps cost at most budget, counting each pass's
// preparation once.
func withinBudget(p plan, budget float64) int {
	spent := 0.0
	prepared := make([]bool, len(p.passes))
	for i, s := range p.steps {
		ps := p.passes[s.pass]
		c := ps.cost
		if !prepared[s.pass] {
			c += ps.prep
		}
		if s.inverted {
			c += 0.1 // the inverted copy, made once per pass but counted per step for simplicity
		}
		if spent+c > budget {
			return i
		}
		spent += c
		prepared[s.pass] = true
	}
	return len(p.steps)
}

package reader

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/makiuchi-d/gozxing"
)

// maxWorkers bounds the goroutines of one Thorough decode.
const maxWorkers = 4

// view is one pass's plane for the image being decoded, made the first time a step needs it
// and then shared by the pass's steps, in both polarities (see binarize).
type view struct {
	mu             sync.Mutex
	ready          bool
	src            *plane // the gray image itself, or plane
	plane, scratch plane
	back           affine
}

// reset forgets the previous image's planes, keeping their buffers.
func (v *view) reset() {
	v.ready, v.src = false, nil
}

// get returns the pass's plane for the gray image, preparing it on the first call.
func (v *view) get(ps pass, gray *plane) *plane {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.ready {
		if ps.prepare == nil {
			v.src, v.back = gray, identity
		} else {
			v.back = ps.prepare(&v.plane, &v.scratch, gray)
			v.src = &v.plane
		}
		v.ready = true
	}
	return v.src
}

// outcome is what one step did.
type outcome struct {
	ran   bool
	read  bool // sym holds a decoded code
	found bool // finder patterns were found, decoded or not
	sym   symbol
	m     *gozxing.BitMatrix
}

// firstRead returns the index of the first step that read a code, or -1.
func firstRead(out []outcome) int {
	for i, o := range out {
		if o.read {
			return i
		}
	}
	return -1
}

// matrixOf returns the matrix made by the step that made attempt a on pass, if it ran.
func matrixOf(pl *plan, out []outcome, pass int, a attempt) *gozxing.BitMatrix {
	for i, s := range pl.steps {
		if s.pass == pass && s.attempt == a && out[i].ran {
			return out[i].m
		}
	}
	return nil
}

// errAbandoned ends a step whose answer is no longer wanted: an earlier step has read a code.
var errAbandoned = errors.New("qr: attempt abandoned")

// try makes step i of pl. stop, if not nil, says when an earlier step has read a code, so that
// this one can end early: its answer would not be used.
//
// The step's matrix is kept in its outcome when it may be wanted after the run: it read a code
// (the multi-code search runs on it), or it is a hybrid matrix of the gray image (that search's
// matrices when no step reads). Any other goes back to scr, to be written over by the worker's
// next step.
func (d *Decoder) try(pl *plan, i int, hints map[gozxing.DecodeHintType]any, scr *scratch, stop func() bool) outcome {
	s := pl.steps[i]
	p := d.views[s.pass].get(pl.passes[s.pass], &d.gray)
	m, err := binarize(s.bin, p, s.inverted, scr)
	out := outcome{ran: true, m: m}
	if err == nil && (stop == nil || !stop()) {
		out.sym, out.found, err = readSingle(m, hints, d.Effort == Thorough && pl.passes[s.pass].nudge && !s.inverted, stop)
		out.read = err == nil
	}
	if m != nil && !out.read && (s.pass != 0 || s.bin != hybrid) {
		scr.spare, out.m = m, nil
	}
	return out
}

// run makes pl's steps until one reads a code and returns what each did; the first step
// with read set is the decode's answer, the same whether the steps ran one after another or
// on several cores.
//
// Fast runs them in turn on the caller's goroutine, skipping a pass's inverted attempts once
// finder patterns were seen in its normal polarity: the code is dark on light, only unreadable
// in this frame, and inverting it costs another binarization for nothing.
//
// Thorough spreads the steps over the cores from the first one: workers take steps in plan
// order, and none starts a step after one that has read a code. A step that reads is
// kept only if no earlier step does, so the answer is the one a single worker would give; a
// later step still running when one reads gives up at its next check.
func (d *Decoder) run(pl *plan, hints map[gozxing.DecodeHintType]any) []outcome {
	for len(d.views) < len(pl.passes) {
		d.views = append(d.views, &view{})
	}
	for _, v := range d.views {
		v.reset()
	}
	out := make([]outcome, len(pl.steps))
	workers := 1
	if d.Effort == Thorough {
		workers = min(runtime.GOMAXPROCS(0), maxWorkers, len(pl.steps))
	}
	if workers <= 1 {
		found := make([]bool, len(pl.passes))
		for i, s := range pl.steps {
			if d.Effort == Fast && s.inverted && found[s.pass] {
				continue
			}
			out[i] = d.try(pl, i, hints, &d.scratch, nil)
			found[s.pass] = found[s.pass] || (out[i].found && !s.inverted)
			if out[i].read {
				break
			}
		}
		return out
	}
	for len(d.workers) < workers {
		d.workers = append(d.workers, scratch{})
	}
	// The first step reads most images, yet the second starts beside it rather than after:
	// with a second core idle, a frame that the first step misses is read or given up 4 ms
	// sooner (the camera set's median, as whole processes), and the second step gives up as
	// soon as the first reads.
	var next atomic.Int64
	var first atomic.Int64 // the lowest step known to have read a code
	first.Store(int64(len(pl.steps)))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= first.Load() {
					return
				}
				out[i] = d.try(pl, int(i), hints, &d.workers[w], func() bool { return first.Load() < i })
				for out[i].read {
					f := first.Load()
					if i >= f || first.CompareAndSwap(f, i) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	return out
}

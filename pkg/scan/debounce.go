package scan

import (
	"slices"
	"time"
)

// debouncer turns the codes read frame after frame into events: a code held in view is one
// event, however many frames show it and however many of them the decoder misses. A code
// leaves view when no frame has shown it for the hold time, or sooner, a fifth of that, when
// other codes are being read in its place; seen again after that, it is a new event. The
// shorter wait keeps two codes in view at once, read in turn, from being new events each time.
//
// Times are the stream's own (camera.Frame.At), so a video read faster than it plays is judged
// as it plays.
type debouncer struct {
	hold   time.Duration
	inView map[string]time.Duration // code text → place in the stream where it was last read
}

func newDebouncer(hold time.Duration) *debouncer {
	return &debouncer{hold: hold, inView: map[string]time.Duration{}}
}

// frame takes the codes read from the frame at place at in the stream and returns those that
// came into view.
func (d *debouncer) frame(at time.Duration, codes []string) (fresh []string) {
	for code, last := range d.inView {
		unread := at - last
		if unread > d.hold || (len(codes) > 0 && !slices.Contains(codes, code) && unread >= d.hold/5) {
			delete(d.inView, code)
		}
	}
	for _, c := range codes {
		if _, ok := d.inView[c]; !ok && !slices.Contains(fresh, c) {
			fresh = append(fresh, c)
		}
		d.inView[c] = at
	}
	return fresh
}

package scan

import "time"

// debouncer turns the codes read frame after frame into events: a code held in view is one
// event, however many frames show it and however many of them the decoder misses. A code
// leaves view when another code is read in its place, or when no frame has shown it for the
// hold time; seen again after that, it is a new event.
type debouncer struct {
	hold   time.Duration
	inView map[string]time.Time // code text → last frame time it was read
}

func newDebouncer(hold time.Duration) *debouncer {
	return &debouncer{hold: hold, inView: map[string]time.Time{}}
}

// frame takes the codes read from a frame taken at t and returns those that came into view.
func (d *debouncer) frame(t time.Time, codes []string) (fresh []string) {
	for code, last := range d.inView {
		if t.Sub(last) > d.hold || (len(codes) > 0 && !contains(codes, code)) {
			delete(d.inView, code)
		}
	}
	for _, c := range codes {
		if _, ok := d.inView[c]; !ok && !contains(fresh, c) {
			fresh = append(fresh, c)
		}
		d.inView[c] = t
	}
	return fresh
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

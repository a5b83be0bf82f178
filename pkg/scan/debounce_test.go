package scan

import (
	"slices"
	"testing"
	"time"
)

// feed gives the debouncer one frame every step from the stream's start and returns the
// codes that came into view, in order.
func feed(d *debouncer, step time.Duration, frames [][]string) []string {
	var fresh []string
	for i, codes := range frames {
		fresh = append(fresh, d.frame(time.Duration(i)*step, codes)...)
	}
	return fresh
}

// repeat is n frames each showing codes.
func repeat(n int, codes ...string) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = codes
	}
	return out
}

func TestDebouncer(t *testing.T) {
	const hold = 1500 * time.Millisecond
	const step = 100 * time.Millisecond // 10 frames a second
	for _, tc := range []struct {
		name   string
		frames [][]string
		want   []string
	}{
		{
			name:   "a code held in view is one event",
			frames: repeat(30, "A"),
			want:   []string{"A"},
		},
		{
			name: "frames the decoder misses, up to the hold time, do not end it",
			frames: slices.Concat(repeat(3, "A"), repeat(2), repeat(1, "A"), repeat(14), // 1.5 s unread
				repeat(2, "A"), repeat(5), repeat(1, "A")),
			want: []string{"A"},
		},
		{
			name:   "gone longer than the hold time, it is a new event",
			frames: slices.Concat(repeat(3, "A"), repeat(16), repeat(2, "A")), // 1.6 s unread
			want:   []string{"A", "A"},
		},
		{
			name:   "after another code, the same code is a new event",
			frames: slices.Concat(repeat(10, "A"), repeat(4, "B"), repeat(10, "A")),
			want:   []string{"A", "B", "A"},
		},
		{
			name:   "after another code and empty frames, still a new event",
			frames: slices.Concat(repeat(10, "A"), repeat(2), repeat(4, "B"), repeat(2), repeat(10, "A")),
			want:   []string{"A", "B", "A"},
		},
		{
			name:   "another code glimpsed for a moment does not end the code",
			frames: slices.Concat(repeat(10, "A"), repeat(1, "B"), repeat(10, "A")),
			want:   []string{"A", "B"},
		},
		{
			name: "two codes in view, read in turn, are one event each",
			frames: func() [][]string {
				var f [][]string
				for range 20 {
					f = append(f, []string{"A"}, []string{"B"})
				}
				return f
			}(),
			want: []string{"A", "B"},
		},
		{
			name:   "two codes in one frame are two events",
			frames: slices.Concat(repeat(5, "A", "B"), repeat(5, "B", "A")),
			want:   []string{"A", "B"},
		},
		{
			name:   "a code read twice in one frame is one event",
			frames: repeat(3, "A", "A"),
			want:   []string{"A"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := feed(newDebouncer(hold), step, tc.frames); !slices.Equal(got, tc.want) {
				t.Errorf("came into view: %q, want %q", got, tc.want)
			}
		})
	}
}

// The stream's own clock decides, not the order of calls: frames a second apart (image files)
// of the same code are one event, and a code back after two seconds is a new one.
func TestDebouncerUsesStreamTime(t *testing.T) {
	d := newDebouncer(1500 * time.Millisecond)
	got := feed(d, time.Second, [][]string{{"A"}, {"A"}, {"A"}, {}, {}, {"A"}})
	if want := []string{"A", "A"}; !slices.Equal(got, want) {
		t.Errorf("came into view: %q, want %q", got, want)
	}
}

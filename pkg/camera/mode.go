package camera

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// PixelFormat is a V4L2 pixel format, by its four-character code.
type PixelFormat uint32

// The pixel formats Webcam reads.
const (
	// FormatYUYV is packed 4:2:2 YCbCr, uncompressed: no decoding cost, but USB 2 cameras send
	// it at large sizes only slowly.
	FormatYUYV PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	// FormatMJPEG is a JPEG per frame: full frame rates at large sizes, a decode per frame.
	FormatMJPEG PixelFormat = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
)

// String is the four-character code, e.g. "YUYV".
func (f PixelFormat) String() string {
	b := []byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return fmt.Sprintf("0x%08x", uint32(f))
		}
	}
	return strings.TrimRight(string(b), " ")
}

// ParsePixelFormat reads a format name as a flag gives it: "mjpeg" (or "mjpg") or "yuyv", in
// any case; "" means either.
func ParsePixelFormat(s string) (PixelFormat, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "mjpeg", "mjpg":
		return FormatMJPEG, nil
	case "yuyv", "yuy2":
		return FormatYUYV, nil
	}
	return 0, fmt.Errorf("camera: pixel format %q: use mjpeg or yuyv", s)
}

// SizeRange is the frame sizes a camera offers in one format: one size when the minimum and
// maximum are equal, else every size from minimum to maximum in steps.
type SizeRange struct {
	MinWidth, MaxWidth, StepWidth    int
	MinHeight, MaxHeight, StepHeight int
}

// RateRange is frame rates a camera offers, in frames a second: one rate when Min equals Max.
type RateRange struct{ Min, Max float64 }

// Offer is one pixel format and frame size a camera offers, with the frame rates it offers
// for them (none when the driver does not say).
type Offer struct {
	Format PixelFormat
	Size   SizeRange
	Rates  []RateRange
}

// Mode is what a camera is asked for: a format, a size and a rate (0: the driver's default).
type Mode struct {
	Format        PixelFormat
	Width, Height int
	FPS           float64
}

func (m Mode) String() string {
	s := fmt.Sprintf("%s %dx%d", m.Format, m.Width, m.Height)
	if m.FPS > 0 {
		s += " at " + formatFPS(m.FPS) + " fps"
	}
	return s
}

// Want is the mode asked for; zero fields leave the choice to ChooseMode.
type Want struct {
	// Format is FormatMJPEG or FormatYUYV; 0 takes either.
	Format PixelFormat
	// Width and Height ask for exactly this size; zero takes the offered size nearest to
	// DefaultWidth×DefaultHeight, the size the decoder is tuned for.
	Width, Height int
	// FPS asks for this frame rate (within half a frame a second); zero takes the fastest.
	FPS float64
}

// The size ChooseMode aims for when none is asked for.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
)

// ModeError means the camera offers no mode that fits what was asked. Its message lists what
// the camera does offer.
type ModeError struct {
	Want   Want
	Offers []Offer
}

func (e *ModeError) Error() string {
	var b strings.Builder
	b.WriteString("camera: no mode fits ")
	b.WriteString(e.Want.describe())
	readable := slices.ContainsFunc(e.Offers, func(o Offer) bool { return o.Format == FormatYUYV || o.Format == FormatMJPEG })
	if !readable {
		var names []string
		for _, o := range e.Offers {
			if n := o.Format.String(); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			b.WriteString(": the camera offers no capture formats")
		} else {
			fmt.Fprintf(&b, ": the camera offers only %s, and companion reads MJPEG and YUYV", strings.Join(names, ", "))
		}
		b.WriteString("; ffmpeg may read it: --ffmpeg-input '-f v4l2 -i DEVICE'")
		return b.String()
	}
	b.WriteString("; the camera offers:")
	for _, o := range e.Offers {
		fmt.Fprintf(&b, "\n  %s %s", o.Format, o.Size)
		if len(o.Rates) > 0 {
			rates := make([]string, len(o.Rates))
			for i, r := range o.Rates {
				rates[i] = r.String()
			}
			fmt.Fprintf(&b, " at %s fps", strings.Join(rates, ", "))
		}
	}
	return b.String()
}

func (w Want) describe() string {
	var parts []string
	if w.Format != 0 {
		parts = append(parts, w.Format.String())
	} else {
		parts = append(parts, "MJPEG or YUYV")
	}
	if w.Width > 0 {
		parts = append(parts, fmt.Sprintf("%dx%d", w.Width, w.Height))
	}
	if w.FPS > 0 {
		parts = append(parts, "at "+formatFPS(w.FPS)+" fps")
	}
	return strings.Join(parts, " ")
}

func (s SizeRange) String() string {
	if s.fixed() {
		return fmt.Sprintf("%dx%d", s.MinWidth, s.MinHeight)
	}
	return fmt.Sprintf("%dx%d to %dx%d (steps of %dx%d)", s.MinWidth, s.MinHeight, s.MaxWidth, s.MaxHeight, max(s.StepWidth, 1), max(s.StepHeight, 1))
}

func (r RateRange) String() string {
	if r.Min == r.Max {
		return formatFPS(r.Min)
	}
	return formatFPS(r.Min) + "–" + formatFPS(r.Max)
}

func formatFPS(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

func (s SizeRange) fixed() bool { return s.MinWidth == s.MaxWidth && s.MinHeight == s.MaxHeight }

// contains reports whether the range offers exactly w×h.
func (s SizeRange) contains(w, h int) bool {
	in := func(v, lo, hi, step int) bool {
		return v >= lo && v <= hi && (step <= 1 || (v-lo)%step == 0)
	}
	return in(w, s.MinWidth, s.MaxWidth, s.StepWidth) && in(h, s.MinHeight, s.MaxHeight, s.StepHeight)
}

// nearest is the size in the range closest to w×h: the target clamped and rounded down to a
// step.
func (s SizeRange) nearest(w, h int) (int, int) {
	snap := func(v, lo, hi, step int) int {
		v = min(max(v, lo), hi)
		if step > 1 {
			v = lo + (v-lo)/step*step
		}
		return v
	}
	return snap(w, s.MinWidth, s.MaxWidth, s.StepWidth), snap(h, s.MinHeight, s.MaxHeight, s.StepHeight)
}

// rateFor is the rate to ask for: the one wanted when offered (ok false otherwise), else the
// fastest offered, else 0 (the driver's default).
func rateFor(rates []RateRange, want float64) (float64, bool) {
	if want > 0 {
		if len(rates) == 0 {
			return want, true
		}
		for _, r := range rates {
			if want >= r.Min-0.5 && want <= r.Max+0.5 {
				return want, true
			}
		}
		return 0, false
	}
	best := 0.0
	for _, r := range rates {
		best = max(best, r.Max)
	}
	return best, true
}

// ChooseMode picks the mode to ask a camera for among the offers, or returns a *ModeError
// listing the offers when none fits. With nothing asked it takes the size nearest 1280×720,
// then the fastest rate, then YUYV over MJPEG (no decoding); a faster MJPEG mode wins over a
// slower YUYV one, since the camera should set the pace.
func ChooseMode(offers []Offer, want Want) (Mode, error) {
	var best Mode
	var bestScore [3]float64
	found := false
	for _, o := range offers {
		if o.Format != FormatYUYV && o.Format != FormatMJPEG {
			continue
		}
		if want.Format != 0 && o.Format != want.Format {
			continue
		}
		m := Mode{Format: o.Format}
		if want.Width > 0 {
			if !o.Size.contains(want.Width, want.Height) {
				continue
			}
			m.Width, m.Height = want.Width, want.Height
		} else {
			m.Width, m.Height = o.Size.nearest(DefaultWidth, DefaultHeight)
		}
		fps, ok := rateFor(o.Rates, want.FPS)
		if !ok {
			continue
		}
		m.FPS = fps
		// Lower is better: distance from the target size, then slowness, then decoding cost.
		score := [3]float64{sizeDistance(m.Width, m.Height), -fps, 0}
		if o.Format == FormatMJPEG {
			score[2] = 1
		}
		if !found || less(score, bestScore) {
			best, bestScore, found = m, score, true
		}
	}
	if !found {
		return Mode{}, &ModeError{Want: want, Offers: offers}
	}
	return best, nil
}

// sizeDistance ranks a size against the default target. Pixels beyond it count double: the
// decoder pays for them on every frame, while a code fills a smaller frame almost as well.
func sizeDistance(w, h int) float64 {
	d := float64(w*h - DefaultWidth*DefaultHeight)
	if d > 0 {
		return 2 * d
	}
	return -d
}

func less(a, b [3]float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// sortOffers orders offers for people: by format, then largest size first.
func sortOffers(o []Offer) {
	slices.SortStableFunc(o, func(a, b Offer) int {
		if a.Format != b.Format {
			return strings.Compare(a.Format.String(), b.Format.String())
		}
		return b.Size.MaxWidth*b.Size.MaxHeight - a.Size.MaxWidth*a.Size.MaxHeight
	})
}

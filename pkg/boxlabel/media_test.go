package boxlabel

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]Size{"50x30mm": {50, 30}, "62x29mm": {62, 29}, "101.6x152.4mm": {101.6, 152.4}, "10x300mm": {10, 300}}
	for s, want := range good {
		if got, err := ParseSize(s); err != nil || got != want || got.String() != s {
			t.Errorf("ParseSize(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "50x30", "50mm", "50x30cm", "50X30mm", "50x30mmx", "9x30mm", "50x301mm", "5e1x30mm",
		"50.x30mm", ".5x30mm", "50.25x30mm", "-50x30mm", "+50x30mm", "50 x 30mm", "0050x30mm", "50x30x20mm", "0x0mm"} {
		if got, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) = %v, want an error", s, got)
		} else if !strings.Contains(err.Error(), "WIDTHxHEIGHTmm") {
			t.Errorf("ParseSize(%q): %v does not say how to write it", s, err)
		}
	}
}

func TestDots(t *testing.T) {
	for _, c := range []struct {
		m    Media
		w, h int
	}{{Media{Size{50, 30}, 203}, 399, 239}, {Media{Size{50.8, 25.4}, 203}, 406, 203}, {Media{Size{62, 29}, 300}, 732, 342}} {
		if w, h := c.m.Dots(); w != c.w || h != c.h {
			t.Errorf("%v: %d×%d dots, want %d×%d", c.m, w, h, c.w, c.h)
		}
	}
}

// FuzzParseSize: any text either fails with a message that says how to write a size, or is a
// size within the limits that prints back as the same text.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"50x30mm", "62x29mm", "101.6x152.4mm", "1e2x30mm", "50x30", "x", "mm", "9.9x10mm", "300.0x300mm"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		size, err := ParseSize(s)
		if err != nil {
			if !strings.Contains(err.Error(), "WIDTHxHEIGHTmm") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if size.WidthMM < MinSideMM || size.WidthMM > MaxSideMM || size.HeightMM < MinSideMM || size.HeightMM > MaxSideMM {
			t.Fatalf("%q accepted as %v", s, size)
		}
		if back, err := ParseSize(size.String()); err != nil || back != size {
			t.Fatalf("%q → %v → %q → %v, %v", s, size, size.String(), back, err)
		}
	})
}

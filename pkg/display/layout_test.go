package display

import (
	"image"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
)

// The code must be as large as the screen allows: one module less per side is a code a
// camera reads from less far away.
func TestPlanImageCodeAsLargeAsFits(t *testing.T) {
	for _, tc := range []struct {
		payload       string
		width, height int
		wantScale     int
	}{
		{longPayload, 800, 480, 6},    // 480/73
		{longPayload, 480, 800, 6},    // portrait: 480/73 across
		{longPayload, 1280, 720, 9},   // 720/73
		{longPayload, 1920, 1080, 14}, // 1080/73
		{shortPayload, 800, 480, 16},  // version 1, 29 modules: 464 px, text beside in the rest
		{longPayload, 320, 240, 3},    // 240/73 = 3 leaves no room for text: the code alone
	} {
		s := testScreen(t, tc.payload)
		l, err := planImage(&s, tc.width, tc.height)
		if err != nil {
			t.Fatalf("%d×%d: %v", tc.width, tc.height, err)
		}
		if l.scale != tc.wantScale {
			t.Errorf("%s at %d×%d: %d px per module, want %d", qrtest.Short(tc.payload), tc.width, tc.height, l.scale, tc.wantScale)
		}
		code := image.Rect(0, 0, s.side()*l.scale, s.side()*l.scale).Add(l.code)
		screen := image.Rect(0, 0, tc.width, tc.height)
		if !code.In(screen) {
			t.Errorf("%d×%d: code %v is not on the screen", tc.width, tc.height, code)
		}
		for _, ln := range l.lines {
			// A line occupies roughly one em above its baseline.
			box := image.Rect(ln.x, ln.y-l.px, ln.x+len(ln.text)*l.px*6/10, ln.y+l.px/4)
			if box.Overlaps(code) || !box.In(screen) {
				t.Errorf("%d×%d: line %q at %v overlaps the code %v or leaves the screen", tc.width, tc.height, ln.text, box, code)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		text string
		n    int
		want []string
	}{
		{"waiting for enrollment", 16, []string{"waiting for", "enrollment"}},
		{"mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiytgnbvgy3t", 30, []string{"mfrggzdfmztwq2lknnwg23tpob", "yxe43uov3ho6dzpiytgnbvgy3t"}},
		{"ID: abcdefghij", 4, []string{"ID:", "abcd", "efg", "hij"}},
		{"  ", 10, nil},
	} {
		got := wrap(tc.text, tc.n)
		if len(got) != len(tc.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("wrap(%q, %d) = %q, want %q", tc.text, tc.n, got, tc.want)
				break
			}
		}
	}
}

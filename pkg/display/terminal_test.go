package display

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRenderTerminalDecodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		size    TermSize
	}{
		{"v12-200x80", longPayload, TermSize{200, 80}},
		{"v12-exact-fit", longPayload, TermSize{73, 40}}, // 37 code rows + title + ID + status
		{"short-80x24", shortPayload, TermSize{80, 24}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testScreen(t, tc.payload)
			var buf bytes.Buffer
			if err := RenderTerminal(&buf, s, tc.size); err != nil {
				t.Fatalf("RenderTerminal: %v", err)
			}
			grid := parseTerminal(t, buf.String(), tc.size.Cols, tc.size.Rows)
			assertTextShown(t, grid, s)
			assertDecodes(t, writePNG(t, rasterize(grid, 4), tc.name+".png"), tc.payload)
		})
	}
}

// assertTextShown checks that the registration ID and status are on the screen, where a
// technician reads them when the camera cannot.
func assertTextShown(t *testing.T, grid [][]termCell, s Screen) {
	t.Helper()
	var all []string
	for y := range grid {
		all = append(all, strings.TrimSpace(gridText(grid, y)))
	}
	screen := strings.Join(all, "\n")
	for _, want := range []string{s.Title, s.RegistrationID, s.Status} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen does not show %q:\n%s", want, screen)
		}
	}
}

func TestRenderTerminalTooSmall(t *testing.T) {
	s := testScreen(t, longPayload)
	for _, size := range []TermSize{{72, 80}, {200, 39}, {80, 25}} {
		var buf bytes.Buffer
		err := RenderTerminal(&buf, s, size)
		var tooSmall *TooSmallError
		if !errors.Is(err, ErrTooSmall) || !errors.As(err, &tooSmall) {
			t.Fatalf("RenderTerminal(%v) = %v, want ErrTooSmall", size, err)
		}
		if tooSmall.NeedWidth != 73 || tooSmall.NeedHeight != 40 || tooSmall.HaveWidth != size.Cols || tooSmall.HaveHeight != size.Rows {
			t.Errorf("RenderTerminal(%v): %+v, want need 73×40", size, tooSmall)
		}
		msg := err.Error()
		for _, want := range []string{"73×40", "smaller font", "--output png"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not mention %q", msg, want)
			}
		}
		if buf.Len() != 0 {
			t.Errorf("RenderTerminal(%v) wrote %d bytes before failing", size, buf.Len())
		}
	}
}

// Text from outside (a status, an error) must not be able to draw over the code.
func TestRenderTerminalStripsControls(t *testing.T) {
	s := testScreen(t, shortPayload)
	s.Status = "evil\x1b[2J\x1b[41mred"
	var buf bytes.Buffer
	if err := RenderTerminal(&buf, s, TermSize{80, 24}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b[41m") {
		t.Fatalf("status escape sequence reached the terminal: %q", buf.String())
	}
}

package display

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
)

// terminalModes are the two ways of drawing on a terminal, by the name tests use for them.
var terminalModes = []struct {
	name   string
	render func(io.Writer, Screen, TermSize) error
	// extraRows is the rows the mode needs beyond the lines it draws.
	extraRows int
}{
	{"inline", RenderTerminal, 1},
	{"fullscreen", RenderTerminalFullScreen, 0},
}

// earlier is what the terminal shows before the screen is drawn, on every row but the last,
// where the cursor waits: the output of earlier commands, as in the demo.
func earlier(rows int) string {
	return strings.Repeat("earlier output\n", rows-1)
}

func TestRenderTerminalDecodes(t *testing.T) {
	for _, mode := range terminalModes {
		for _, tc := range []struct {
			name    string
			payload string
			size    TermSize
		}{
			{"v12-200x80", longPayload, TermSize{200, 80}},
			// 37 code rows + title + ID + status, and the cursor's row when inline: with
			// the cursor at the bottom the output scrolls, and the title must stay.
			{"v12-exact-fit", longPayload, TermSize{73, 40 + mode.extraRows}},
			{"short-80x24", shortPayload, TermSize{80, 24}},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				s := testScreen(t, tc.payload)
				var buf bytes.Buffer
				if err := mode.render(&buf, s, tc.size); err != nil {
					t.Fatalf("render: %v", err)
				}
				grid := qrtest.ParseTerminal(t, earlier(tc.size.Rows)+buf.String(), tc.size.Cols, tc.size.Rows)
				assertTextShown(t, grid, s)
				qrtest.AssertDecodes(t, qrtest.WritePNG(t, grid.Image(4), "terminal.png"), tc.payload)
			})
		}
	}
}

// Inline, the screen follows what the terminal showed; full screen, it replaces it.
func TestRenderTerminalKeepsEarlierOutput(t *testing.T) {
	cursorMoves := regexp.MustCompile(`\x1b\[[0-9;?]*[A-HJKSTf]`)
	size := TermSize{200, 80}
	s := testScreen(t, longPayload)
	for _, mode := range terminalModes {
		t.Run(mode.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := mode.render(&buf, s, size); err != nil {
				t.Fatal(err)
			}
			grid := qrtest.ParseTerminal(t, "earlier output\n"+buf.String(), size.Cols, size.Rows)
			inline := mode.name == "inline"
			if kept := grid.Text(0) == "earlier output"; kept != inline {
				t.Errorf("earlier output kept: %v, want %v; the screen:\n%s", kept, inline, grid)
			}
			if inline {
				if m := cursorMoves.FindString(buf.String()); m != "" {
					t.Errorf("inline output moves the cursor or clears with %q", m)
				}
				if got := grid.Text(1); got != s.Title {
					t.Errorf("row 2 shows %q, want the title right after the earlier output", got)
				}
			}
		})
	}
}

// assertTextShown checks that the title, registration ID and status are on the screen, where
// a technician reads them when the camera cannot.
func assertTextShown(t *testing.T, grid qrtest.Grid, s Screen) {
	t.Helper()
	screen := grid.String()
	for _, want := range []string{s.Title, s.RegistrationID, s.Status} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen does not show %q:\n%s", want, screen)
		}
	}
}

func TestRenderTerminalTooSmall(t *testing.T) {
	s := testScreen(t, longPayload)
	for _, mode := range terminalModes {
		needRows := 40 + mode.extraRows
		for _, size := range []TermSize{{72, 80}, {200, needRows - 1}, {80, 25}} {
			var buf bytes.Buffer
			err := mode.render(&buf, s, size)
			var tooSmall *TooSmallError
			if !errors.Is(err, ErrTooSmall) || !errors.As(err, &tooSmall) {
				t.Fatalf("%s on %v = %v, want ErrTooSmall", mode.name, size, err)
			}
			if tooSmall.NeedWidth != 73 || tooSmall.NeedHeight != needRows || tooSmall.HaveWidth != size.Cols || tooSmall.HaveHeight != size.Rows {
				t.Errorf("%s on %v: %+v, want need 73×%d", mode.name, size, tooSmall, needRows)
			}
			msg := err.Error()
			for _, want := range []string{fmt.Sprintf("73×%d", needRows), "smaller font", "--output png"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not mention %q", msg, want)
				}
			}
			if buf.Len() != 0 {
				t.Errorf("%s on %v wrote %d bytes before failing", mode.name, size, buf.Len())
			}
		}
	}
}

// Text from outside (a status, an error) must not be able to draw over the code.
func TestRenderTerminalStripsControls(t *testing.T) {
	s := testScreen(t, shortPayload)
	s.Status = "evil\x1b[2J\x1b[41mred"
	for _, mode := range terminalModes {
		var buf bytes.Buffer
		if err := mode.render(&buf, s, TermSize{80, 24}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "\x1b[41m") {
			t.Fatalf("%s: status escape sequence reached the terminal: %q", mode.name, buf.String())
		}
	}
}

// Written to a pipe or a file, the size is unknown: inline output is written whole and still
// decodes; a full screen cannot be laid out without a size.
func TestRenderTerminalUnknownSize(t *testing.T) {
	s := testScreen(t, longPayload)
	var buf bytes.Buffer
	if err := RenderTerminal(&buf, s, TermSize{}); err != nil {
		t.Fatalf("inline with no known size: %v", err)
	}
	grid := qrtest.ParseTerminal(t, buf.String(), 80, 45)
	assertTextShown(t, grid, s)
	qrtest.AssertDecodes(t, qrtest.WritePNG(t, grid.Image(4), "piped.png"), longPayload)

	if err := RenderTerminalFullScreen(&buf, s, TermSize{}); !errors.Is(err, ErrTooSmall) {
		t.Fatalf("full screen with no known size = %v, want ErrTooSmall", err)
	}
}

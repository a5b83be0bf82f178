package display

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// TermSize is the size of a terminal in character cells.
type TermSize struct {
	Cols, Rows int
}

// codeColours is the SGR sequence for the code: black text (the dark modules, drawn with
// block glyphs) on a white background (the light modules and the quiet zone, drawn by the
// cell background, which fills the whole cell in every terminal even where a block glyph
// leaves gaps). Explicit colours keep the code dark-on-light on dark and light themes alike.
// The 8-colour white (47) comes first for the Linux console, which knows only the basic
// colours and shows it as light grey; 107, bright white, then overrides it on terminals that
// know it. Black on light grey still has ample contrast for a camera.
const codeColours = "\x1b[0;30;47;107m"

// Half-block glyphs by (top dark, bottom dark): one character cell holds two module rows,
// which also makes the modules square, since cells are about twice as tall as wide. All four
// are in the Linux console's default fonts (they come from code page 437).
var halfBlocks = [2][2]string{
	{" ", "▄"}, // top light: bottom light, bottom dark
	{"▀", "█"}, // top dark
}

// RenderTerminal draws s on a terminal of the given size: the screen is cleared, then the
// title, the code with its quiet zone, the registration ID and the status are drawn centred,
// with cursor addressing, in one write. The code is always in explicit colours; the text is
// in the terminal's own. When the terminal is too small it returns a *TooSmallError (which
// matches ErrTooSmall) and writes nothing.
func RenderTerminal(w io.Writer, s Screen, size TermSize) error {
	if err := s.check(); err != nil {
		return err
	}
	side := s.side()
	codeRows := (side + 1) / 2
	top, bottom := s.terminalText(max(size.Cols, side))
	need := TermSize{Cols: side, Rows: len(top) + codeRows + len(bottom)}
	if size.Cols < need.Cols || size.Rows < need.Rows {
		return &TooSmallError{Output: "terminal", NeedWidth: need.Cols, NeedHeight: need.Rows, HaveWidth: size.Cols, HaveHeight: size.Rows}
	}

	var b bytes.Buffer
	// Reset attributes, home the cursor and clear the screen.
	b.WriteString("\x1b[0m\x1b[H\x1b[2J")
	row := (size.Rows-need.Rows)/2 + 1 // rows and columns are 1-based in cursor addressing
	text := func(lines []string, bold bool) {
		for _, l := range lines {
			fmt.Fprintf(&b, "\x1b[%d;%dH", row, (size.Cols-len([]rune(l)))/2+1)
			if bold {
				b.WriteString("\x1b[1m" + l + "\x1b[0m")
			} else {
				b.WriteString(l)
			}
			row++
		}
	}
	// The title is bold and above the code; the rest is below.
	text(top, true)
	col := (size.Cols-side)/2 + 1
	for y := 0; y < codeRows; y++ {
		fmt.Fprintf(&b, "\x1b[%d;%dH%s", row, col, codeColours)
		for x := 0; x < side; x++ {
			// Past the last module row (side is odd), dark() reports light: more quiet zone.
			b.WriteString(halfBlocks[bit(s.dark(x, 2*y))][bit(s.dark(x, 2*y+1))])
		}
		b.WriteString("\x1b[0m")
		row++
	}
	text(bottom, false)
	_, err := w.Write(b.Bytes())
	if err != nil {
		return fmt.Errorf("display: write to terminal: %w", err)
	}
	return nil
}

// terminalText wraps the text of s to cols columns: the title for above the code, the
// registration ID, status and extra lines for below it.
func (s *Screen) terminalText(cols int) (top, bottom []string) {
	add := func(lines []string, t string) []string {
		t = printable(t)
		if strings.TrimSpace(t) == "" {
			return lines
		}
		return append(lines, wrap(t, cols)...)
	}
	top = add(top, s.Title)
	if s.RegistrationID != "" {
		bottom = add(bottom, "Registration ID: "+s.RegistrationID)
	}
	bottom = add(bottom, s.Status)
	for _, l := range s.Lines {
		bottom = add(bottom, l)
	}
	return top, bottom
}

// printable replaces control characters, so text from elsewhere (an error message, a device
// name) cannot move the cursor or change colours over the code.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

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

// RenderTerminal draws s inline, where the cursor is, as a command's output: the title, the
// code with its quiet zone and the registration ID and status, one line after another at the
// left margin, with nothing cleared and no cursor addressing, so what the terminal showed
// before stays above it. It needs one row more than the lines it writes: the row the cursor
// ends on, where the shell's prompt goes, would otherwise scroll the title away. The code is
// always in explicit colours; the text is in the terminal's own. When the terminal is too
// small it returns a *TooSmallError (which matches ErrTooSmall) and writes nothing. A zero size
// means the size is unknown (output to a pipe or a file): the screen is written as it is, for
// whatever will display it.
func RenderTerminal(w io.Writer, s Screen, size TermSize) error {
	return renderTerminal(w, s, size, false)
}

// RenderTerminalFullScreen draws s on a terminal given over to it, such as the console at
// first boot: the screen is cleared, then the same lines as RenderTerminal are drawn centred,
// with cursor addressing. Errors are as for RenderTerminal.
func RenderTerminalFullScreen(w io.Writer, s Screen, size TermSize) error {
	return renderTerminal(w, s, size, true)
}

// renderTerminal lays s out for a terminal of the given size and writes it in one write,
// centred on a cleared screen when fullScreen is set and inline otherwise.
func renderTerminal(w io.Writer, s Screen, size TermSize, fullScreen bool) error {
	if err := s.check(); err != nil {
		return err
	}
	side := s.side()
	codeRows := (side + 1) / 2
	top, bottom := s.terminalText(max(size.Cols, side))
	need := TermSize{Cols: side, Rows: len(top) + codeRows + len(bottom)}
	if !fullScreen {
		need.Rows++ // the row the cursor ends on
	}
	unknown := size == TermSize{}
	if (fullScreen || !unknown) && (size.Cols < need.Cols || size.Rows < need.Rows) {
		return &TooSmallError{Output: "terminal", NeedWidth: need.Cols, NeedHeight: need.Rows, HaveWidth: size.Cols, HaveHeight: size.Rows}
	}

	var b bytes.Buffer
	b.WriteString("\x1b[0m") // start from the terminal's own colours
	if fullScreen {
		b.WriteString("\x1b[H\x1b[2J") // home the cursor and clear the screen
	}
	row := (size.Rows-need.Rows)/2 + 1 // rows and columns are 1-based in cursor addressing
	// line writes one line of the given width: centred by cursor addressing on a full
	// screen, or at the left margin and ended by a newline inline.
	line := func(width int, text string) {
		if fullScreen {
			fmt.Fprintf(&b, "\x1b[%d;%dH%s", row, (size.Cols-width)/2+1, text)
			row++
			return
		}
		b.WriteString(text + "\n")
	}
	// The title is bold and above the code; the rest is below.
	for _, l := range top {
		line(len([]rune(l)), "\x1b[1m"+l+"\x1b[0m")
	}
	var code strings.Builder
	for y := 0; y < codeRows; y++ {
		code.Reset()
		code.WriteString(codeColours)
		for x := 0; x < side; x++ {
			// Past the last module row (side is odd), dark() reports light: more quiet zone.
			code.WriteString(halfBlocks[bit(s.dark(x, 2*y))][bit(s.dark(x, 2*y+1))])
		}
		// Reset before the newline: a terminal that scrolls fills the new row with the
		// current background, which would put a white bar beside the code.
		code.WriteString("\x1b[0m")
		line(side, code.String())
	}
	for _, l := range bottom {
		line(len([]rune(l)), l)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
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

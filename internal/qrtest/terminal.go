package qrtest

import (
	"image/color"
	"strconv"
	"strings"
	"testing"
)

// Cell is one character cell as a terminal shows it, its colours as grey levels.
type Cell struct {
	Ch     rune
	FG, BG color.Gray
}

// Grid is a terminal's screen: rows of cells.
type Grid [][]Cell

// The palette of a dark-themed terminal: where the output sets no colour, the background is
// black and the text light grey, so a code drawn without explicit colours comes out inverted
// and fails to decode. Values are xterm's.
var (
	defaultFG = color.Gray{Y: 0xe5}
	defaultBG = color.Gray{Y: 0x00}
	ansiGray  = [16]uint8{
		0x00, 0x4c, 0x7f, 0xb2, 0x26, 0x59, 0x8c, 0xe5, // black, red, green, yellow, blue, magenta, cyan, white (luma)
		0x7f, 0x95, 0xb5, 0xe2, 0x69, 0x9c, 0xc8, 0xff, // the bright ones
	}
)

// ParseTerminal plays a program's terminal output onto a blank cols×rows screen with the
// cursor at the top left, as a terminal would: printable characters, newlines (which scroll
// at the bottom row), carriage returns, cursor addressing (CSI H), clearing (CSI J) and
// colours (SGR: 30–37, 40–47, 90–97, 100–107, 39, 49, 0, 38;5;n and 48;5;n for the basic
// colours, 38;2 and 48;2). Anything else fails the test, so a change in the output cannot slip
// past it. A newline also returns the carriage, as the terminal's line discipline does.
func ParseTerminal(tb testing.TB, out string, cols, rows int) Grid {
	tb.Helper()
	t := newTerminal(tb, cols, rows)
	t.write(out)
	return t.grid
}

// ParseCapture reads what `tmux capture-pane -p -e -N` printed for a cols×rows pane: one line
// a row, colours as SGR sequences whose state carries from line to line.
func ParseCapture(tb testing.TB, captured string, cols, rows int) Grid {
	tb.Helper()
	lines := strings.Split(strings.TrimSuffix(captured, "\n"), "\n")
	if len(lines) > rows {
		tb.Fatalf("capture has %d lines, the pane %d rows", len(lines), rows)
	}
	t := newTerminal(tb, cols, rows)
	for y, l := range lines {
		t.y, t.x = y, 0
		t.write(l)
	}
	return t.grid
}

// terminal is the state ParseTerminal keeps while it plays output.
type terminal struct {
	tb         testing.TB
	grid       Grid
	cols, rows int
	x, y       int
	fg, bg     color.Gray
}

func newTerminal(tb testing.TB, cols, rows int) *terminal {
	t := &terminal{tb: tb, cols: cols, rows: rows, fg: defaultFG, bg: defaultBG}
	t.clear()
	return t
}

func (t *terminal) blankRow() []Cell {
	row := make([]Cell, t.cols)
	for x := range row {
		row[x] = Cell{Ch: ' ', FG: defaultFG, BG: defaultBG}
	}
	return row
}

func (t *terminal) clear() {
	t.grid = make(Grid, t.rows)
	for y := range t.grid {
		t.grid[y] = t.blankRow()
	}
}

func (t *terminal) write(out string) {
	t.tb.Helper()
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\x1b':
			i = t.escape(rs, i)
		case r == '\n':
			t.x = 0
			if t.y == t.rows-1 {
				t.grid = append(t.grid[1:], t.blankRow())
			} else {
				t.y++
			}
		case r == '\r':
			t.x = 0
		case r < ' ':
			t.tb.Fatalf("unexpected control character %U", r)
		default:
			if t.y < 0 || t.y >= t.rows || t.x < 0 || t.x >= t.cols {
				t.tb.Fatalf("character %q drawn at row %d column %d, outside %d×%d", r, t.y+1, t.x+1, t.cols, t.rows)
			}
			t.grid[t.y][t.x] = Cell{Ch: r, FG: t.fg, BG: t.bg}
			t.x++
		}
	}
}

// escape applies the control sequence starting at rs[i] and returns the index of its last rune.
func (t *terminal) escape(rs []rune, i int) int {
	t.tb.Helper()
	if i+1 >= len(rs) || rs[i+1] != '[' {
		t.tb.Fatalf("escape without CSI at rune %d", i)
	}
	j := i + 2
	for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == ';' || rs[j] == '?') {
		j++
	}
	if j >= len(rs) {
		t.tb.Fatalf("unterminated escape at rune %d", i)
	}
	params := string(rs[i+2 : j])
	switch rs[j] {
	case 'H':
		row, col := 1, 1
		if params != "" {
			p := strings.Split(params, ";")
			row, _ = strconv.Atoi(p[0])
			if len(p) > 1 {
				col, _ = strconv.Atoi(p[1])
			}
		}
		t.y, t.x = row-1, col-1
	case 'J':
		t.clear()
	case 'm':
		t.sgr(params)
	default:
		t.tb.Fatalf("unexpected escape sequence %q", string(rs[i:j+1]))
	}
	return j
}

// sgr applies one Select Graphic Rendition sequence to the current colours.
func (t *terminal) sgr(params string) {
	t.tb.Helper()
	if params == "" {
		t.fg, t.bg = defaultFG, defaultBG
		return
	}
	var ps []int
	for _, p := range strings.Split(params, ";") {
		n, err := strconv.Atoi(p)
		if err != nil && p != "" {
			t.tb.Fatalf("bad SGR parameter %q", p)
		}
		ps = append(ps, n)
	}
	for k := 0; k < len(ps); k++ {
		switch p := ps[k]; {
		case p == 0:
			t.fg, t.bg = defaultFG, defaultBG
		case p == 1 || p == 22 || p == 2:
			// Intensity: the code does not use it; the text's rendering does not matter.
		case p >= 30 && p <= 37:
			t.fg = color.Gray{Y: ansiGray[p-30]}
		case p >= 40 && p <= 47:
			t.bg = color.Gray{Y: ansiGray[p-40]}
		case p >= 90 && p <= 97:
			t.fg = color.Gray{Y: ansiGray[p-90+8]}
		case p >= 100 && p <= 107:
			t.bg = color.Gray{Y: ansiGray[p-100+8]}
		case p == 39:
			t.fg = defaultFG
		case p == 49:
			t.bg = defaultBG
		case (p == 38 || p == 48) && k+2 < len(ps) && ps[k+1] == 5:
			t.setColour(p, palette256(ps[k+2]))
			k += 2
		case (p == 38 || p == 48) && k+4 < len(ps) && ps[k+1] == 2:
			c := color.RGBA{uint8(ps[k+2]), uint8(ps[k+3]), uint8(ps[k+4]), 0xff}
			t.setColour(p, color.GrayModel.Convert(c).(color.Gray))
			k += 4
		default:
			t.tb.Fatalf("unexpected SGR parameter %d in %q", p, params)
		}
	}
}

// setColour sets the foreground (SGR 38) or background (SGR 48) colour.
func (t *terminal) setColour(p int, c color.Gray) {
	if p == 38 {
		t.fg = c
	} else {
		t.bg = c
	}
}

// palette256 is colour n of the 256-colour palette as a grey level: exact for the basic
// colours, black, white and the grey ramp, mid-grey for the colour cube.
func palette256(n int) color.Gray {
	switch {
	case n < 16:
		return color.Gray{Y: ansiGray[n]}
	case n >= 232:
		return color.Gray{Y: uint8(8 + 10*(n-232))}
	case n == 16:
		return color.Gray{}
	case n == 231:
		return color.Gray{Y: 0xff}
	}
	return color.Gray{Y: 0x80}
}

// Text returns row y as text, without trailing spaces.
func (g Grid) Text(y int) string {
	var b strings.Builder
	for _, c := range g[y] {
		b.WriteRune(c.Ch)
	}
	return strings.TrimRight(b.String(), " ")
}

// String returns the screen as text, a line a row, for failure messages and searches.
func (g Grid) String() string {
	lines := make([]string, len(g))
	for y := range g {
		lines[y] = g.Text(y)
	}
	return strings.Join(lines, "\n")
}

// Flow returns the screen's text with rows run together and runs of spaces made one, so a
// message the terminal wrapped at its right margin reads as one line.
func (g Grid) Flow() string {
	var b strings.Builder
	for _, row := range g {
		for _, c := range row {
			b.WriteRune(c.Ch)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

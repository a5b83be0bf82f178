package display

import (
	"image"
	"image/color"
	"strconv"
	"strings"
	"testing"
)

// termCell is one character cell as a terminal would show it.
type termCell struct {
	ch     rune
	fg, bg color.Gray
}

// The palette a dark-themed terminal uses: where the output sets no colour, the background is
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

// parseTerminal plays terminal output onto a cols×rows grid: printable characters, newlines,
// cursor addressing (CSI H), clearing (CSI J) and colours (SGR: 30–37, 40–47, 90–97,
// 100–107, 39, 49, 0, 38;5;n and 48;5;n for the basic colours, 38;2 and 48;2). Anything it
// does not know fails the test, so a change in the output cannot slip past it.
func parseTerminal(tb testing.TB, out string, cols, rows int) [][]termCell {
	tb.Helper()
	blank := termCell{ch: ' ', fg: defaultFG, bg: defaultBG}
	grid := make([][]termCell, rows)
	clearGrid := func() {
		for y := range grid {
			grid[y] = make([]termCell, cols)
			for x := range grid[y] {
				grid[y][x] = blank
			}
		}
	}
	clearGrid()
	x, y := 0, 0
	fg, bg := defaultFG, defaultBG
	rs := []rune(out)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\x1b':
			if i+1 >= len(rs) || rs[i+1] != '[' {
				tb.Fatalf("escape without CSI at rune %d", i)
			}
			j := i + 2
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == ';' || rs[j] == '?') {
				j++
			}
			if j >= len(rs) {
				tb.Fatalf("unterminated escape at rune %d", i)
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
				y, x = row-1, col-1
			case 'J':
				clearGrid()
			case 'm':
				fg, bg = applySGR(tb, params, fg, bg)
			default:
				tb.Fatalf("unexpected escape sequence %q", string(rs[i:j+1]))
			}
			i = j
		case r == '\n':
			y, x = y+1, 0
		case r == '\r':
			x = 0
		case r < ' ':
			tb.Fatalf("unexpected control character %U", r)
		default:
			if y < 0 || y >= rows || x < 0 || x >= cols {
				tb.Fatalf("character %q drawn at row %d column %d, outside %d×%d", r, y+1, x+1, cols, rows)
			}
			grid[y][x] = termCell{ch: r, fg: fg, bg: bg}
			x++
		}
	}
	return grid
}

// applySGR applies one Select Graphic Rendition sequence to the current colours.
func applySGR(tb testing.TB, params string, fg, bg color.Gray) (color.Gray, color.Gray) {
	tb.Helper()
	if params == "" {
		return defaultFG, defaultBG
	}
	var ps []int
	for _, p := range strings.Split(params, ";") {
		n, err := strconv.Atoi(p)
		if err != nil && p != "" {
			tb.Fatalf("bad SGR parameter %q", p)
		}
		ps = append(ps, n)
	}
	for k := 0; k < len(ps); k++ {
		switch p := ps[k]; {
		case p == 0:
			fg, bg = defaultFG, defaultBG
		case p == 1 || p == 22 || p == 2:
			// Intensity: the code does not use it; the text's rendering does not matter.
		case p >= 30 && p <= 37:
			fg = color.Gray{Y: ansiGray[p-30]}
		case p >= 40 && p <= 47:
			bg = color.Gray{Y: ansiGray[p-40]}
		case p >= 90 && p <= 97:
			fg = color.Gray{Y: ansiGray[p-90+8]}
		case p >= 100 && p <= 107:
			bg = color.Gray{Y: ansiGray[p-100+8]}
		case p == 39:
			fg = defaultFG
		case p == 49:
			bg = defaultBG
		case (p == 38 || p == 48) && k+2 < len(ps) && ps[k+1] == 5:
			c := color.Gray{Y: 0x80}
			if n := ps[k+2]; n < 16 {
				c = color.Gray{Y: ansiGray[n]}
			} else if n >= 232 {
				c = color.Gray{Y: uint8(8 + 10*(n-232))}
			} else if n == 16 {
				c = color.Gray{}
			} else if n == 231 {
				c = color.Gray{Y: 0xff}
			}
			if p == 38 {
				fg = c
			} else {
				bg = c
			}
			k += 2
		case (p == 38 || p == 48) && k+4 < len(ps) && ps[k+1] == 2:
			c := color.GrayModel.Convert(color.RGBA{uint8(ps[k+2]), uint8(ps[k+3]), uint8(ps[k+4]), 0xff}).(color.Gray)
			if p == 38 {
				fg = c
			} else {
				bg = c
			}
			k += 4
		default:
			tb.Fatalf("unexpected SGR parameter %d in %q", p, params)
		}
	}
	return fg, bg
}

// rasterize turns a cell grid into a grey image, each cell 2×2 units of px pixels (cells are
// about twice as tall as wide, so a half block is square): block glyphs split into their
// halves, any other character shows as its background, which is what matters around a code.
func rasterize(grid [][]termCell, px int) *image.Gray {
	rows, cols := len(grid), len(grid[0])
	img := image.NewGray(image.Rect(0, 0, cols*px, rows*2*px))
	for cy, row := range grid {
		for cx, c := range row {
			top, bottom := c.bg, c.bg
			switch c.ch {
			case '█':
				top, bottom = c.fg, c.fg
			case '▀':
				top = c.fg
			case '▄':
				bottom = c.fg
			}
			for dy := 0; dy < 2*px; dy++ {
				v := top
				if dy >= px {
					v = bottom
				}
				for dx := 0; dx < px; dx++ {
					img.SetGray(cx*px+dx, cy*2*px+dy, v)
				}
			}
		}
	}
	return img
}

// gridText returns row y of the grid as text.
func gridText(grid [][]termCell, y int) string {
	var b strings.Builder
	for _, c := range grid[y] {
		b.WriteRune(c.ch)
	}
	return strings.TrimRight(b.String(), " ")
}

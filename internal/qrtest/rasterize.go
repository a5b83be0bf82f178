package qrtest

import "image"

// Image turns the screen into a grey image, each cell 2×2 units of px pixels (cells are about
// twice as tall as wide, so a half block is square): block glyphs split into their halves, any
// other character shows as its background, which is what matters around a code.
func (g Grid) Image(px int) *image.Gray {
	rows, cols := len(g), len(g[0])
	img := image.NewGray(image.Rect(0, 0, cols*px, rows*2*px))
	for cy, row := range g {
		for cx, c := range row {
			top, bottom := c.BG, c.BG
			switch c.Ch {
			case '█':
				top, bottom = c.FG, c.FG
			case '▀':
				top = c.FG
			case '▄':
				bottom = c.FG
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

// HasBlocks reports whether any cell shows a half-block or full-block glyph: whether any
// part of a code was drawn.
func (g Grid) HasBlocks() bool {
	for _, row := range g {
		for _, c := range row {
			switch c.Ch {
			case '█', '▀', '▄':
				return true
			}
		}
	}
	return false
}

package boxlabel

import (
	"fmt"
	"io"

	"github.com/oobtpm/oob/pkg/qr"
)

// minModuleMM is the smallest QR module a label gets: about what a phone or a handheld
// scanner still reads from a printed label at arm's length.
const minModuleMM = 0.25

// ZPL writes l as one label format for m: ^PW and ^LL of the label's size, the QR code as a
// ^GFA graphic field holding the exact modules (the quiet zone included, at a whole number of
// dots per module, as large as fits), and the title, ID and status in font 0 beside the code
// (below it on a label taller than wide), the ID broken over as many lines as it needs.
func (l Label) ZPL(w io.Writer, m Media) error {
	if err := m.Validate(); err != nil {
		return err
	}
	p, err := l.planZPL(m)
	if err != nil {
		return err
	}
	z := NewZPL(w)
	z.Begin()
	z.Size(p.width, p.height)
	z.Graphic(p.codeX, p.codeY, p.code)
	for _, t := range p.text {
		z.Text(t.x, t.y, p.font, p.font, t.s)
	}
	return z.End()
}

// zplPlan is where a label's fields go, in dots.
type zplPlan struct {
	width, height int
	code          *Bitmap
	codeX, codeY  int
	font          int
	text          []zplText
}

type zplText struct {
	x, y int
	s    string
}

func (l Label) planZPL(m Media) (*zplPlan, error) {
	c, err := qr.Encode(l.Payload, qr.LevelM)
	if err != nil {
		return nil, fmt.Errorf("boxlabel: %w", err)
	}
	W, H := m.Dots()
	p := &zplPlan{width: W, height: H}
	margin := mmToDots(1, m.DPI)
	side := c.Size() + 2*qr.QuietZone
	wide := W >= H
	var scale int
	if wide {
		// The code takes the height; at least 30% of the width stays for the text.
		scale = min((H-2*margin)/side, (W-2*margin-W*3/10)/side)
	} else {
		scale = min((W-2*margin)/side, (H-2*margin-H*3/10)/side)
	}
	minScale := m.minScale()
	if scale < minScale {
		return nil, fmt.Errorf("boxlabel: a %s label at %d dpi is %d×%d dots, but the QR code (%d modules with its quiet zone, at least %d dots each) and its text need more: use a larger --size or a higher --dpi",
			m.Size, m.DPI, W, H, side, minScale)
	}
	px := side * scale
	p.code = codeBitmap(c, scale)
	var tx, ty, tw, th int
	if wide {
		p.codeX, p.codeY = margin, (H-px)/2
		tx, ty, tw, th = margin+px+margin, margin, W-px-3*margin, H-2*margin
	} else {
		p.codeX, p.codeY = (W-px)/2, margin
		tx, ty, tw, th = margin, margin+px+margin, W-2*margin, H-px-3*margin
	}
	// Font 0 is proportional; 0.6 of its height is a generous average advance for the
	// registration IDs' lowercase letters and digits. Text starts at 3 mm high and may shrink
	// to 1.5 mm.
	for h := mmToDots(3, m.DPI); h >= mmToDots(1.5, m.DPI); h-- {
		perLine := int(float64(tw) / (0.6 * float64(h)))
		if perLine < 1 {
			break
		}
		var lines []string
		for _, s := range []string{l.Title, l.ID, l.Status} {
			lines = append(lines, breakLine(s, perLine)...)
		}
		step := h * 5 / 4
		if len(lines)*step > th {
			continue
		}
		p.font = h
		y := ty + (th-len(lines)*step)/2
		for _, s := range lines {
			p.text = append(p.text, zplText{x: tx, y: y, s: s})
			y += step
		}
		return p, nil
	}
	return nil, fmt.Errorf("boxlabel: a %s label at %d dpi has no room for its text beside the QR code: use a larger --size", m.Size, m.DPI)
}

// breakLine cuts s into pieces of at most n characters; an empty s gives none.
func breakLine(s string, n int) []string {
	r := []rune(s)
	var out []string
	for len(r) > 0 {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}

// codeBitmap draws c at scale dots per module with its quiet zone.
func codeBitmap(c *qr.Code, scale int) *Bitmap {
	side := (c.Size() + 2*qr.QuietZone) * scale
	b := &Bitmap{Width: side, Height: side, Bits: make([]bool, side*side)}
	for y, row := range c.Modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				off := ((y+qr.QuietZone)*scale+dy)*side + (x+qr.QuietZone)*scale
				for dx := 0; dx < scale; dx++ {
					b.Bits[off+dx] = true
				}
			}
		}
	}
	return b
}

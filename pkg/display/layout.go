package display

import (
	"image"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// paragraph is one piece of text on the screen, wrapped to the room it gets.
type paragraph struct {
	text string
	bold bool
	// gap puts half a line of space before the paragraph, to group the lines.
	gap bool
}

// paragraphs lists the text of s in the order it is shown, leaving out empty fields.
func (s *Screen) paragraphs() []paragraph {
	var ps []paragraph
	add := func(p paragraph) {
		if strings.TrimSpace(p.text) != "" {
			ps = append(ps, p)
		}
	}
	add(paragraph{text: s.Title, bold: true})
	if s.RegistrationID != "" {
		add(paragraph{text: "Registration ID", gap: true})
		add(paragraph{text: s.RegistrationID, bold: true})
	}
	add(paragraph{text: s.Status, gap: true})
	for _, l := range s.Lines {
		add(paragraph{text: l})
	}
	return ps
}

// line is one line of text placed on the image: its baseline starts at (x, y).
type line struct {
	text string
	bold bool
	x, y int
}

// imageLayout is where everything goes on a width×height image.
type imageLayout struct {
	// scale is the size of a module in pixels.
	scale int
	// code is the top-left corner of the quiet zone.
	code image.Point
	// px is the text size in pixels per em.
	px    int
	lines []line
}

// textBlock is a set of paragraphs wrapped to a width.
type textBlock struct {
	lines         []line // positions relative to the block's top-left corner
	width, height int
}

// minLineChars is the narrowest text column allowed: it holds "Registration ID" whole and
// splits a 52-character ID into at most four pieces.
const minLineChars = 16

// wrapBlock wraps ps to maxWidth pixels with the faces given. It reports false when a line
// cannot hold minLineChars characters, which would make the text unreadable rather than small.
func wrapBlock(ps []paragraph, regular, bold font.Face, maxWidth int) (textBlock, bool) {
	var b textBlock
	lineHeight := regular.Metrics().Height.Ceil()
	y := 0
	for i, p := range ps {
		face := regular
		if p.bold {
			face = bold
		}
		if p.gap && i > 0 {
			y += lineHeight / 2
		}
		adv, _ := face.GlyphAdvance('0')
		// The faces are monospaced, so the number of characters per line is a division.
		perLine := maxWidth / max(adv.Ceil(), 1)
		if perLine < minLineChars {
			return b, false
		}
		m := face.Metrics()
		for _, text := range wrap(p.text, perLine) {
			w := font.MeasureString(face, text).Ceil()
			b.lines = append(b.lines, line{text: text, bold: p.bold, y: y + m.Ascent.Ceil(), x: w})
			b.width = max(b.width, w)
			y += max(m.Height.Ceil(), lineHeight)
		}
	}
	b.height = y
	return b, true
}

// wrap breaks text into lines of at most n characters, at spaces where it can and inside
// words that are longer than a line (a registration ID has no spaces).
func wrap(text string, n int) []string {
	var out []string
	cur := ""
	for _, word := range strings.Fields(text) {
		if r := []rune(word); len(r) > n {
			if cur != "" {
				out = append(out, cur)
				cur = ""
			}
			// Break into equal pieces, so an ID reads as two halves, not a line and a stub.
			pieces := (len(r) + n - 1) / n
			for i := pieces; i > 1; i-- {
				size := (len(r) + i - 1) / i
				out = append(out, string(r[:size]))
				r = r[size:]
			}
			word = string(r)
		}
		switch {
		case cur == "":
			cur = word
		case len([]rune(cur))+1+len([]rune(word)) <= n:
			cur += " " + word
		default:
			out = append(out, cur)
			cur = word
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// planImage lays s out on a width×height image: the code at the largest integer module scale
// that fits, the text beside it (wide screens) or below it (tall ones), the whole group
// centred. The code comes first: text shrinks before the code does, and when the text only
// fits next to a code of fewer than minScale pixels per module, the code is drawn alone,
// because the code is what the technician needs and the text only helps.
func planImage(s *Screen, width, height int) (*imageLayout, error) {
	side := s.side()
	short := min(width, height)
	if side > short {
		return nil, &TooSmallError{Output: "image", NeedWidth: side, NeedHeight: side, HaveWidth: width, HaveHeight: height}
	}
	ps := s.paragraphs()
	margin := max(4, short/40)
	maxScale := short / side
	// Text about 1/24 of the short side reads from a couple of metres on a small panel and
	// does not crowd the code; it may shrink to 2/3 of that, never below 10 pixels.
	basePx := max(10, min(72, short/24))
	minPx := max(10, basePx*2/3)
	type faces struct{ regular, bold font.Face }
	cache := map[int]faces{}
	defer func() {
		for _, f := range cache {
			f.regular.Close()
			f.bold.Close()
		}
	}()
	for scale := maxScale; scale >= min(minScale, maxScale) && len(ps) > 0; scale-- {
		for px := basePx; px >= minPx; px = min(px-1, px*7/8) {
			f, ok := cache[px]
			if !ok {
				regular, err := newFace(float64(px), false)
				if err != nil {
					return nil, err
				}
				bold, err := newFace(float64(px), true)
				if err != nil {
					regular.Close()
					return nil, err
				}
				f = faces{regular, bold}
				cache[px] = f
			}
			if l := arrange(ps, f.regular, f.bold, side*scale, width, height, margin); l != nil {
				l.scale, l.px = scale, px
				return l, nil
			}
		}
	}
	// The quiet zone is margin enough for the code alone.
	return &imageLayout{
		scale: maxScale,
		code:  image.Pt((width-side*maxScale)/2, (height-side*maxScale)/2),
	}, nil
}

// minScale is the module size, in pixels, below which a webcam a metre or so from a small
// panel starts to lose the code; the text gives way before the code goes below it.
const minScale = 3

// arrange places a code of code×code pixels and the text, beside each other on wide screens
// and one above the other on tall ones, falling back to the other arrangement when the
// preferred one does not fit. It returns nil when neither fits.
func arrange(ps []paragraph, regular, bold font.Face, code, width, height, margin int) *imageLayout {
	beside := func() *imageLayout {
		if code > height {
			return nil
		}
		b, ok := wrapBlock(ps, regular, bold, width-code-3*margin)
		if !ok || b.height > height-2*margin {
			return nil
		}
		x0 := (width - (code + margin + b.width)) / 2
		l := &imageLayout{code: image.Pt(x0, (height-code)/2)}
		tx, ty := x0+code+margin, (height-b.height)/2
		for _, ln := range b.lines {
			l.lines = append(l.lines, line{text: ln.text, bold: ln.bold, x: tx, y: ty + ln.y})
		}
		return l
	}
	below := func() *imageLayout {
		if code > width {
			return nil
		}
		b, ok := wrapBlock(ps, regular, bold, width-2*margin)
		if !ok || code+margin+b.height > height-margin {
			return nil
		}
		y0 := (height - (code + margin + b.height)) / 2
		l := &imageLayout{code: image.Pt((width-code)/2, y0)}
		ty := y0 + code + margin
		for _, ln := range b.lines {
			// wrapBlock left the line's width in x.
			l.lines = append(l.lines, line{text: ln.text, bold: ln.bold, x: (width - ln.x) / 2, y: ty + ln.y})
		}
		return l
	}
	first, second := beside, below
	if height > width {
		first, second = below, beside
	}
	if l := first(); l != nil {
		return l
	}
	return second()
}

// fixedPoint converts a pixel position to the font package's fixed-point form.
func fixedPoint(x, y int) fixed.Point26_6 { return fixed.P(x, y) }

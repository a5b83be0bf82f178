package display

//go:generate go run ./internal/glyphgen

import (
	"bytes"
	"compress/flate"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// The image outputs draw Go Mono (golang.org/x/image/font/gofont) rather than basicfont's bitmap
// face: outlines scale to any pixel size, so text stays readable on a 1920×1080 panel as on a
// 320×240 one, and a monospaced face with distinct 0/O and 1/l keeps the base32 registration ID
// unambiguous when a technician types it.
//
// The metrics (glyphs_gen.go) and outlines (glyphs.bin, compressed) are what internal/glyphgen
// extracts from the TrueType files, every character they map. Drawing them here, as
// golang.org/x/image/font/opentype does, keeps the TrueType files, their parser and the character
// maps it brings out of the agent: about 500 KB of a binary that ships to small devices. The test
// compares every glyph with opentype's, pixel for pixel.

// glyphData is glyphs.bin, laid out as internal/glyphgen's doc says.
//
//go:embed glyphs.bin
var glyphData string

// glyphFont is one face's metrics, in font units; its outlines are glyphSet's weight'th.
type glyphFont struct {
	weight                                      int
	unitsPerEm, advance                         fixed.Int26_6
	height, ascent, descent, xHeight, capHeight fixed.Int26_6
	caretSlope                                  [2]int
}

// glyphSet is glyphs.bin decoded: the outlines of both weights, regular and bold.
type glyphSet struct {
	notdef [2][]byte
	glyphs []glyph // by rune
}

// glyph is one character's outline in each weight.
type glyph struct {
	r    rune
	path [2][]byte
}

// glyphs decodes glyphData once; the result is never modified, so it is safe to share.
var glyphs = sync.OnceValues(func() (*glyphSet, error) {
	data, err := io.ReadAll(flate.NewReader(strings.NewReader(glyphData)))
	if err != nil {
		return nil, fmt.Errorf("display: built-in font: %w", err)
	}
	return decodeGlyphs(data)
})

var errGlyphData = errors.New("display: built-in font: glyphs.bin is damaged (go generate ./pkg/display)")

func decodeGlyphs(data []byte) (*glyphSet, error) {
	r := bytes.NewReader(data)
	bad := false
	uvarint := func() uint64 {
		n, err := binary.ReadUvarint(r)
		bad = bad || err != nil
		return n
	}
	path := func() []byte {
		n := uvarint()
		if bad || n > uint64(r.Len()) {
			bad = true
			return nil
		}
		at := len(data) - r.Len()
		r.Seek(int64(n), io.SeekCurrent)
		return data[at : at+int(n)]
	}
	set := &glyphSet{notdef: [2][]byte{path(), path()}}
	count := uvarint()
	if bad || count > uint64(r.Len()) {
		return nil, errGlyphData
	}
	set.glyphs = make([]glyph, count)
	prev := rune(0)
	for i := range set.glyphs {
		prev += rune(uvarint())
		set.glyphs[i] = glyph{r: prev, path: [2][]byte{path(), path()}}
	}
	if bad || r.Len() != 0 {
		return nil, errGlyphData
	}
	return set, nil
}

// find returns r's outline in weight w, or the missing-glyph box's and false.
func (s *glyphSet) find(r rune, w int) ([]byte, bool) {
	i, ok := slices.BinarySearchFunc(s.glyphs, r, func(g glyph, r rune) int { return int(g.r - r) })
	if !ok {
		return s.notdef[w], false
	}
	return s.glyphs[i].path[w], true
}

// newFace returns Go Mono (bold when asked) at px pixels per em. Faces keep a mask and a
// rasterizer between glyphs and are not safe for concurrent use, so each render makes its own.
func newFace(px float64, bold bool) (font.Face, error) {
	set, err := glyphs()
	if err != nil {
		return nil, err
	}
	f := &goMono
	if bold {
		f = &goMonoBold
	}
	// opentype.NewFace's scale at 72 DPI.
	return &glyphFace{f: f, set: set, ppem: fixed.Int26_6(0.5 + px*64)}, nil
}

// glyphFace is a font.Face drawing a glyphFont as golang.org/x/image/font/opentype's Face does
// with full hinting (sfnt does not run TrueType hinting programs: hinting only rounds metrics and
// advances to whole pixels).
type glyphFace struct {
	f    *glyphFont
	set  *glyphSet
	ppem fixed.Int26_6
	segs []segment
	rast vector.Rasterizer
	mask image.Alpha
}

// segment is one piece of an outline, scaled: op 0 moves, 1 draws a line, 2 a quadratic and
// 3 a cubic curve, through the first 1, 1, 2 or 3 points.
type segment struct {
	op  byte
	pts [3]fixed.Point26_6
}

// points is how many points the segment's op uses.
func (s *segment) points() int {
	return [4]int{1, 1, 2, 3}[s.op&3]
}

// scale is sfnt's scaling from font units to ppem, rounding half away from zero.
func (g *glyphFace) scale(v fixed.Int26_6) fixed.Int26_6 {
	v *= g.ppem
	if v >= 0 {
		v += g.f.unitsPerEm / 2
	} else {
		v -= g.f.unitsPerEm / 2
	}
	return v / g.f.unitsPerEm
}

func ceilPixel(v fixed.Int26_6) fixed.Int26_6  { return (v + 63) &^ 63 }
func roundPixel(v fixed.Int26_6) fixed.Int26_6 { return (v + 32) &^ 63 }

// Close releases nothing.
func (g *glyphFace) Close() error { return nil }

// Metrics are the font's, scaled and rounded up to whole pixels.
func (g *glyphFace) Metrics() font.Metrics {
	f := g.f
	return font.Metrics{
		Height:     ceilPixel(g.scale(f.height)),
		Ascent:     ceilPixel(g.scale(f.ascent)),
		Descent:    ceilPixel(g.scale(f.descent)),
		XHeight:    ceilPixel(g.scale(f.xHeight)),
		CapHeight:  ceilPixel(g.scale(f.capHeight)),
		CaretSlope: image.Point{X: f.caretSlope[0], Y: f.caretSlope[1]},
	}
}

// Kern is zero: Go Mono has no kerning (internal/glyphgen refuses a font that has).
func (g *glyphFace) Kern(r0, r1 rune) fixed.Int26_6 { return 0 }

// GlyphAdvance is r's advance rounded to a whole pixel; ok is false for a missing glyph.
func (g *glyphFace) GlyphAdvance(r rune) (fixed.Int26_6, bool) {
	_, ok := g.set.find(r, g.f.weight)
	return roundPixel(g.scale(g.f.advance)), ok
}

// GlyphBounds is the box around r's outline and its advance; ok is false for a missing glyph.
func (g *glyphFace) GlyphBounds(r rune) (fixed.Rectangle26_6, fixed.Int26_6, bool) {
	path, ok := g.set.find(r, g.f.weight)
	return bounds(g.load(path)), roundPixel(g.scale(g.f.advance)), ok
}

// load decodes and scales an outline into g.segs.
func (g *glyphFace) load(p []byte) []segment {
	g.segs = g.segs[:0]
	var at fixed.Point26_6
	next := func() fixed.Int26_6 {
		v, n := binary.Varint(p)
		if n <= 0 { // cut short: glyphgen wrote no such outline
			p = nil
			return 0
		}
		p = p[n:]
		return fixed.Int26_6(v)
	}
	for len(p) > 0 {
		s := segment{op: p[0]}
		p = p[1:]
		for i := range s.points() {
			at.X += next()
			at.Y += next()
			s.pts[i] = fixed.Point26_6{X: g.scale(at.X), Y: g.scale(at.Y)}
		}
		g.segs = append(g.segs, s)
	}
	return g.segs
}

// bounds is the box around every point of the segments, as sfnt.Segments.Bounds computes it.
func bounds(segs []segment) fixed.Rectangle26_6 {
	if len(segs) == 0 {
		return fixed.Rectangle26_6{}
	}
	b := fixed.Rectangle26_6{
		Min: fixed.Point26_6{X: 1<<31 - 1, Y: 1<<31 - 1},
		Max: fixed.Point26_6{X: -1 << 31, Y: -1 << 31},
	}
	for i := range segs {
		for _, p := range segs[i].pts[:segs[i].points()] {
			b.Min.X, b.Max.X = min(b.Min.X, p.X), max(b.Max.X, p.X)
			b.Min.Y, b.Max.Y = min(b.Min.Y, p.Y), max(b.Max.Y, p.Y)
		}
	}
	return b
}

// Glyph rasterizes r at dot the way opentype.Face.Glyph does, so that text looks the same; a
// missing glyph is drawn as the font's box, with ok false.
func (g *glyphFace) Glyph(dot fixed.Point26_6, r rune) (dr image.Rectangle, mask image.Image, maskp image.Point, advance fixed.Int26_6, ok bool) {
	path, ok := g.set.find(r, g.f.weight)
	advance = roundPixel(g.scale(g.f.advance))
	segs := g.load(path)
	db := bounds(segs).Add(dot)
	dr = image.Rect(db.Min.X.Floor(), db.Min.Y.Floor(), db.Max.X.Ceil(), db.Max.Y.Ceil())
	width, height := dr.Dx(), dr.Dy()
	// Rasterizer space starts at dr's corner: the outline is moved by the dot's sub-pixel rest.
	biasX := dot.X - fixed.Int26_6(dr.Min.X<<6)
	biasY := dot.Y - fixed.Int26_6(dr.Min.Y<<6)
	if n := width * height; cap(g.mask.Pix) < n {
		g.mask.Pix = make([]uint8, 2*n)
	}
	g.mask.Pix = g.mask.Pix[:width*height]
	g.mask.Stride = width
	g.mask.Rect = image.Rect(0, 0, width, height)
	g.rast.Reset(width, height)
	g.rast.DrawOp = draw.Src
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(p.X+biasX) / 64, float32(p.Y+biasY) / 64
	}
	for _, s := range segs {
		x0, y0 := pt(s.pts[0])
		switch s.op {
		case 0:
			g.rast.MoveTo(x0, y0)
		case 1:
			g.rast.LineTo(x0, y0)
		case 2:
			x1, y1 := pt(s.pts[1])
			g.rast.QuadTo(x0, y0, x1, y1)
		case 3:
			x1, y1 := pt(s.pts[1])
			x2, y2 := pt(s.pts[2])
			g.rast.CubeTo(x0, y0, x1, y1, x2, y2)
		}
	}
	g.rast.Draw(&g.mask, g.mask.Bounds(), image.Opaque, image.Point{})
	return dr, &g.mask, g.mask.Rect.Min, advance, ok
}

package display

import (
	"bytes"
	"compress/flate"
	"errors"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The screen's text must look exactly as it did when opentype drew it from the TrueType files:
// every character the fonts map (and a few they do not, drawn as the missing-glyph box), at
// small and large sizes and at sub-pixel positions, pixel for pixel, with the same metrics.
func TestGlyphsDrawAsOpentype(t *testing.T) {
	missing := []rune{'中', 0x1f600, 0x7f}
	for _, tc := range []struct {
		name string
		ttf  []byte
		bold bool
	}{{"regular", gomono.TTF, false}, {"bold", gomonobold.TTF, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := opentype.Parse(tc.ttf)
			if err != nil {
				t.Fatal(err)
			}
			runes := append(mappedRunes(t, ref), missing...)
			for _, px := range []float64{10, 13, 24, 37, 72} {
				want, err := opentype.NewFace(ref, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
				if err != nil {
					t.Fatal(err)
				}
				got, err := newFace(px, tc.bold)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := got.Metrics(), want.Metrics(); g != w {
					t.Errorf("%v px: metrics %+v, want %+v", px, g, w)
				}
				for _, r := range runes {
					compareGlyph(t, px, r, got, want)
				}
				if g, w := got.Kern('A', 'V'), want.Kern('A', 'V'); g != w {
					t.Errorf("%v px: kern A V %v, want %v", px, g, w)
				}
			}
		})
	}
}

// mappedRunes lists the characters f's character map has a glyph for.
func mappedRunes(t *testing.T, f *sfnt.Font) []rune {
	t.Helper()
	var buf sfnt.Buffer
	var out []rune
	for r := rune(0); r <= 0xffff; r++ {
		if x, err := f.GlyphIndex(&buf, r); err == nil && x != 0 {
			out = append(out, r)
		}
	}
	if len(out) < 700 {
		t.Fatalf("only %d characters mapped", len(out))
	}
	return out
}

func compareGlyph(t *testing.T, px float64, r rune, got, want font.Face) {
	t.Helper()
	ga, gok := got.GlyphAdvance(r)
	wa, wok := want.GlyphAdvance(r)
	if ga != wa || gok != wok {
		t.Errorf("%v px %q: advance %v %t, want %v %t", px, r, ga, gok, wa, wok)
	}
	gb, gba, gbok := got.GlyphBounds(r)
	wb, wba, wbok := want.GlyphBounds(r)
	if gb != wb || gba != wba || gbok != wbok {
		t.Errorf("%v px %q: bounds %v %v %t, want %v %v %t", px, r, gb, gba, gbok, wb, wba, wbok)
	}
	for _, dot := range []fixed.Point26_6{fixed.P(20, 50), {X: 20<<6 + 23, Y: 50<<6 + 41}} {
		gdr, gm, gmp, gadv, gok := got.Glyph(dot, r)
		wdr, wm, wmp, wadv, wok := want.Glyph(dot, r)
		if gdr != wdr || gadv != wadv || gok != wok {
			t.Errorf("%v px %q at %v: glyph %v %v %t, want %v %v %t", px, r, dot, gdr, gadv, gok, wdr, wadv, wok)
			continue
		}
		if !sameMask(gm, gmp, wm, wmp, gdr.Size()) {
			t.Errorf("%v px %q at %v: the glyph's pixels differ from opentype's", px, r, dot)
		}
	}
}

func sameMask(a image.Image, ap image.Point, b image.Image, bp image.Point, size image.Point) bool {
	for y := 0; y < size.Y; y++ {
		for x := 0; x < size.X; x++ {
			_, _, _, aa := a.At(ap.X+x, ap.Y+y).RGBA()
			_, _, _, ba := b.At(bp.X+x, bp.Y+y).RGBA()
			if aa != ba {
				return false
			}
		}
	}
	return true
}

// glyphs_gen.go and glyphs.bin are what go generate writes from the pinned golang.org/x/image
// (glyphs.bin compared once inflated, so that another Go's compressor does not fail this test).
func TestGlyphsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs internal/glyphgen")
	}
	dir := t.TempDir()
	if b, err := exec.Command("go", "run", "./internal/glyphgen", "-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("glyphgen: %v: %s", err, b)
	}
	for _, name := range []string{"glyphs_gen.go", "glyphs.bin"} {
		want := readGenerated(t, filepath.Join(dir, name))
		if got := readGenerated(t, name); !bytes.Equal(got, want) {
			t.Errorf("%s is not what internal/glyphgen writes: run go generate ./pkg/display", name)
		}
	}
}

// readGenerated reads a generated file, glyphs.bin inflated.
func readGenerated(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil && filepath.Ext(path) == ".bin" {
		b, err = io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// A damaged glyphs.bin is an error, not a screen of empty boxes.
func TestDecodeGlyphsRefusesDamage(t *testing.T) {
	data, err := io.ReadAll(flate.NewReader(strings.NewReader(glyphData)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeGlyphs(data); err != nil {
		t.Fatalf("glyphs.bin as committed: %v", err)
	}
	for _, bad := range [][]byte{nil, data[:len(data)/2], data[:len(data)-1], append(slices.Clone(data), 0)} {
		if _, err := decodeGlyphs(bad); !errors.Is(err, errGlyphData) {
			t.Errorf("%d of %d bytes: %v, want errGlyphData", len(bad), len(data), err)
		}
	}
}

package reader

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/makiuchi-d/gozxing"
)

// Result is one QR code read from an image.
type Result struct {
	// Text is the code's content as text. Byte segments without a character-set designator
	// are read as UTF-8 when they are valid UTF-8.
	Text string
	// Bytes is the content as the code holds it: for codes without a character-set designator
	// or Kanji segments, exactly the encoded bytes; otherwise the byte segments, or the text.
	Bytes []byte
	// Corners are the symbol's corners in the image's coordinates, in the symbol's own
	// orientation: top-left, top-right, bottom-right, bottom-left (the corner without a finder
	// pattern is bottom-right).
	Corners [4]image.Point
}

// ErrNotFound means no QR code could be read from the image.
var ErrNotFound = errors.New("qr: no QR code found")

// ErrImageTooLarge means the image has more than MaxPixels pixels.
var ErrImageTooLarge = errors.New("qr: image too large")

// MaxPixels is the largest image Decode accepts: 8192×8192, more than any camera still that a
// code can be read from without first cropping it.
const MaxPixels = 1 << 26

// minSide is the side of the smallest QR code (version 1, 21 modules) at one pixel per module.
const minSide = 21

// Effort chooses how much work the Decoder spends on an image before giving up.
type Effort int

const (
	// Thorough tries many strategies: inverted codes, several binarizers, rescaling, contrast
	// stretch, blur and rotation, most often successful first, spread over the cores. For still
	// photos; on an image larger than 640×480 it gives up after a bounded amount of work, about
	// that of six attempts on the whole image.
	Thorough Effort = iota
	// Fast tries only the passes cheap enough for live video at 30 frames per second on one
	// core: the image at half size, then as it is, with the cheap binarizers; the inverted image
	// only when no finder patterns were seen. A frame it misses is followed by another.
	Fast
)

// Decoder reads QR codes from images. The zero value is ready to use and decodes thoroughly.
// A Decoder keeps its buffers between calls, so decoding a stream of frames of one size does
// not allocate them again; it must not be used by several goroutines at once.
type Decoder struct {
	// Effort bounds the work per image; the zero value is Thorough.
	Effort Effort
	// FirstOnly stops at the first code read, for callers that expect a single code. Otherwise
	// every distinct code found by the first successful pass is returned.
	FirstOnly bool

	gray plane
	// views are the passes' planes, made for each image as its steps need them; scratch
	// and workers are the binarizers' scratch space for one worker and for several.
	views   []*view
	scratch scratch
	workers []scratch

	// trace, when set by tests, is told which attempt read the first code.
	trace func(attempt string)
}

// Decode reads every distinct QR code it can find in img, trying thoroughly.
// It returns ErrNotFound when there is none.
func Decode(img image.Image) ([]Result, error) {
	var d Decoder
	return d.Decode(img)
}

// hints for gozxing. gozxing tests hints by key presence, so only hints that are on are listed.
var (
	hintsFast     = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: latin1}
	hintsThorough = map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_CHARACTER_SET: latin1,
		// TRY_HARDER scans every third row for finder patterns instead of skipping rows in
		// proportion to the image height, which small codes in large frames need.
		gozxing.DecodeHintType_TRY_HARDER: true,
	}
)

// Decode reads QR codes from img as configured by d. It returns ErrNotFound when there is none.
func (d *Decoder) Decode(img image.Image) ([]Result, error) {
	if img == nil {
		return nil, errors.New("qr: nil image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < minSide || h < minSide {
		return nil, ErrNotFound
	}
	if int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, at most %d: crop or scale it down", ErrImageTooLarge, w, h, MaxPixels)
	}
	d.gray.setGray(img)
	defer d.gray.release()

	hints := hintsThorough
	if d.Effort == Fast {
		hints = hintsFast
	}

	var results []Result
	seen := map[string]bool{}
	add := func(syms []symbol, back affine) {
		for _, s := range syms {
			r := toResult(s, back, b.Min)
			if key := string(r.Bytes); !seen[key] {
				seen[key] = true
				results = append(results, r)
			}
		}
	}

	pl := d.plan(w, h)
	out := d.run(&pl, hints)
	if i := firstRead(out); i >= 0 {
		s := pl.steps[i]
		if d.trace != nil {
			d.trace(pl.passes[s.pass].name + "/" + s.attempt.String())
		}
		back := d.views[s.pass].back
		add([]symbol{out[i].sym}, back)
		if !d.FirstOnly {
			// The single detector returns the best-looking code; the multi detector, run on
			// the same matrix, finds the others in the picture.
			more, _ := readMulti(out[i].m, hints, out[i].sym)
			add(more, back)
		}
		return results, nil
	}
	if !d.FirstOnly && d.Effort == Thorough {
		// The single detector commits to one triple of finder patterns; with several codes or
		// look-alike patterns in view that triple can be wrong while another one decodes. The
		// hybrid matrices of the gray image are those its steps made; the inverted one only
		// when a step made it (a large image's budget leaves it out, and no code of the camera
		// set or the corpus needs it here).
		for _, a := range []attempt{hyb, hybInv} {
			m := matrixOf(&pl, out, 0, a)
			if m == nil && a.inverted {
				continue
			}
			if m == nil {
				var err error
				p := d.views[0].get(pl.passes[0], &d.gray)
				if m, err = binarize(hybrid, p, a.inverted, &d.scratch); err != nil {
					continue
				}
			}
			more, _ := readMulti(m, hints)
			add(more, identity)
		}
		if len(results) > 0 {
			if d.trace != nil {
				d.trace("multi")
			}
			return results, nil
		}
	}
	return nil, ErrNotFound
}

// toResult maps a symbol read on a derived plane back to the caller's image.
func toResult(s symbol, back affine, origin image.Point) Result {
	text, raw := payload(s.result)
	r := Result{Text: text, Bytes: raw}
	for i, c := range s.corners {
		x, y := back.apply(c[0], c[1])
		r.Corners[i] = image.Pt(origin.X+int(math.Round(x)), origin.Y+int(math.Round(y)))
	}
	return r
}

package boxlabel

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// ZPL writes label formats in Zebra's ZPL II, one field at a time. Text goes through ^FH, so
// that a caret or tilde in it cannot end the field or start a command. Errors are kept and
// returned by End.
type ZPL struct {
	w   *bufio.Writer
	err error
}

// NewZPL returns a ZPL writer on w.
func NewZPL(w io.Writer) *ZPL { return &ZPL{w: bufio.NewWriter(w)} }

func (z *ZPL) printf(format string, args ...any) {
	if z.err == nil {
		_, z.err = fmt.Fprintf(z.w, format, args...)
	}
}

// fieldEscaper writes the characters that ^FD would read as commands as ^FH's _hh.
var fieldEscaper = strings.NewReplacer("_", "_5F", "^", "_5E", "~", "_7E")

// Begin starts a label: ^XA, and ^CI28 so that text is read as UTF-8.
func (z *ZPL) Begin() { z.printf("^XA\n^CI28\n") }

// Size sets the label's print width and length in dots (^PW, ^LL).
func (z *ZPL) Size(w, h int) { z.printf("^PW%d\n^LL%d\n", w, h) }

// Text writes s at (x, y) in the printer's scalable font 0, h dots high and w dots wide.
func (z *ZPL) Text(x, y, h, w int, s string) {
	z.printf("^FO%d,%d^A0N,%d,%d^FH^FD%s^FS\n", x, y, h, w, fieldEscaper.Replace(s))
}

// PrinterQR writes payload as a QR code the printer encodes itself (^BQ, model 2, error
// correction M, automatic mode selection), mag dots per module.
func (z *ZPL) PrinterQR(x, y, mag int, payload string) {
	z.printf("^FO%d,%d^BQN,2,%d^FH^FDMA,%s^FS\n", x, y, mag, fieldEscaper.Replace(payload))
}

// Graphic writes a 1-bit image at (x, y) as a ^GFA graphic field: ASCII hex, one bit per dot,
// rows padded to whole bytes, dark set. A row equal to the one before is written ":", and a
// row's trailing zero bytes ",", ZPL's own compression of ^GFA data.
func (z *ZPL) Graphic(x, y int, b *Bitmap) {
	rowBytes := (b.Width + 7) / 8
	z.printf("^FO%d,%d^GFA,%d,%d,%d,", x, y, rowBytes*b.Height, rowBytes*b.Height, rowBytes)
	row := make([]byte, rowBytes)
	prev := make([]byte, rowBytes)
	hexRow := make([]byte, 2*rowBytes)
	for yy := 0; yy < b.Height; yy++ {
		clear(row)
		for xx := 0; xx < b.Width; xx++ {
			if b.Dark(xx, yy) {
				row[xx/8] |= 0x80 >> (xx % 8)
			}
		}
		switch {
		case yy > 0 && string(row) == string(prev):
			z.printf(":")
		default:
			end := rowBytes
			for end > 0 && row[end-1] == 0 {
				end--
			}
			hex.Encode(hexRow, row[:end])
			z.printf("%s", strings.ToUpper(string(hexRow[:2*end])))
			if end < rowBytes {
				z.printf(",")
			}
		}
		copy(prev, row)
	}
	z.printf("^FS\n")
}

// End ends the label (^XZ), flushes, and returns the first error met.
func (z *ZPL) End() error {
	z.printf("^XZ\n")
	if z.err == nil {
		z.err = z.w.Flush()
	}
	return z.err
}

// Bitmap is a 1-bit image: Bits[y*Width+x] is true for a dark dot.
type Bitmap struct {
	Width, Height int
	Bits          []bool
}

// Dark reports whether dot (x, y) is dark.
func (b *Bitmap) Dark(x, y int) bool { return b.Bits[y*b.Width+x] }

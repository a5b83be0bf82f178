package qrtest

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
	"testing"
)

// ZPLLabel is one ^XA…^XZ label format read back from ZPL: its ^GFA graphic fields drawn on
// a white canvas of its ^PW×^LL dots, one pixel per dot, and its ^FD text fields in order.
type ZPLLabel struct {
	Width, Height int
	Image         *image.Gray
	Graphics      int
	Texts         []string
}

// ParseZPL reads the label formats the project writes: ^XA, ^CI, ^PW, ^LL, ^FO, ^A0, ^FH,
// ^FD…^FS and ^GFA (ASCII hex with ZPL's ":" and "," row compression), then ^XZ. Anything
// else, or text outside a format, fails the test: it is what a printer would misread.
func ParseZPL(tb testing.TB, zpl string) []ZPLLabel {
	tb.Helper()
	var labels []ZPLLabel
	rest := zpl
	for {
		rest = strings.TrimLeft(rest, "\n")
		if rest == "" {
			return labels
		}
		body, ok := strings.CutPrefix(rest, "^XA")
		if !ok {
			tb.Fatalf("ZPL: %q where a label should start with ^XA", short(rest))
		}
		end := strings.Index(body, "^XZ")
		if end < 0 {
			tb.Fatalf("ZPL: label %d has no ^XZ", len(labels)+1)
		}
		if strings.Contains(body[:end], "^XA") {
			tb.Fatalf("ZPL: label %d starts another ^XA before its ^XZ", len(labels)+1)
		}
		labels = append(labels, parseFormat(tb, body[:end]))
		rest = body[end+3:]
	}
}

func parseFormat(tb testing.TB, body string) ZPLLabel {
	tb.Helper()
	var l ZPLLabel
	var x, y int
	var draws []func(*image.Gray)
	for _, cmd := range strings.Split(body, "^")[1:] {
		cmd = strings.TrimSuffix(cmd, "\n")
		switch {
		case strings.HasPrefix(cmd, "CI"), cmd == "FS", cmd == "FH", strings.HasPrefix(cmd, "A0N,"):
		case strings.HasPrefix(cmd, "PW"):
			l.Width = atoi(tb, cmd[2:])
		case strings.HasPrefix(cmd, "LL"):
			l.Height = atoi(tb, cmd[2:])
		case strings.HasPrefix(cmd, "FO"):
			xs, ys, _ := strings.Cut(cmd[2:], ",")
			x, y = atoi(tb, xs), atoi(tb, ys)
		case strings.HasPrefix(cmd, "FD"):
			l.Texts = append(l.Texts, unescapeFH(tb, cmd[2:]))
		case strings.HasPrefix(cmd, "GFA,"):
			g := graphic(tb, cmd[4:])
			gx, gy := x, y
			l.Graphics++
			draws = append(draws, func(img *image.Gray) {
				for yy := range g.Rect.Dy() {
					for xx := range g.Rect.Dx() {
						if g.GrayAt(xx, yy).Y == 0 {
							img.SetGray(gx+xx, gy+yy, color.Gray{})
						}
					}
				}
			})
		default:
			tb.Fatalf("ZPL: unexpected command ^%s", short(cmd))
		}
	}
	if l.Width <= 0 || l.Height <= 0 {
		tb.Fatalf("ZPL: a label without ^PW and ^LL")
	}
	l.Image = image.NewGray(image.Rect(0, 0, l.Width, l.Height))
	for i := range l.Image.Pix {
		l.Image.Pix[i] = 0xff
	}
	for _, d := range draws {
		d(l.Image)
	}
	return l
}

// graphic decodes ^GFA's "total,total,rowBytes,data" into an image, dark dots black.
func graphic(tb testing.TB, s string) *image.Gray {
	tb.Helper()
	parts := strings.SplitN(s, ",", 4)
	if len(parts) != 4 {
		tb.Fatalf("ZPL: ^GFA without its three counts and data")
	}
	total, rowBytes := atoi(tb, parts[0]), atoi(tb, parts[2])
	if atoi(tb, parts[1]) != total || rowBytes <= 0 || total%rowBytes != 0 {
		tb.Fatalf("ZPL: ^GFA counts %s,%s,%s do not describe whole rows", parts[0], parts[1], parts[2])
	}
	rows := total / rowBytes
	var out []byte
	var prev []byte
	data := parts[3]
	for len(data) > 0 {
		var row []byte
		switch {
		case data[0] == ':':
			if prev == nil {
				tb.Fatalf("ZPL: ^GFA repeats a row before the first")
			}
			row, data = prev, data[1:]
		default:
			n := strings.IndexAny(data, ":,")
			hexPart := data
			if n >= 0 && data[n] == ',' {
				hexPart, data = data[:n], data[n+1:]
			} else if n >= 0 {
				hexPart, data = data[:n], data[n:]
			} else {
				data = ""
			}
			for len(hexPart) > 2*rowBytes {
				// Consecutive uncompressed rows run on without a separator.
				b, err := hex.DecodeString(hexPart[:2*rowBytes])
				if err != nil {
					tb.Fatalf("ZPL: ^GFA data: %v", err)
				}
				out = append(out, b...)
				hexPart = hexPart[2*rowBytes:]
			}
			b, err := hex.DecodeString(hexPart)
			if err != nil || strings.ToUpper(hexPart) != hexPart {
				tb.Fatalf("ZPL: ^GFA data %q is not upper-case hex", short(hexPart))
			}
			row = append(b, make([]byte, rowBytes-len(b))...)
		}
		out = append(out, row...)
		prev = row
	}
	if len(out) != total {
		tb.Fatalf("ZPL: ^GFA holds %d bytes, its header says %d", len(out), total)
	}
	img := image.NewGray(image.Rect(0, 0, rowBytes*8, rows))
	for i, b := range out {
		for bit := range 8 {
			v := uint8(0xff)
			if b&(0x80>>bit) != 0 {
				v = 0
			}
			img.Pix[i*8+bit] = v
		}
	}
	return img
}

// unescapeFH reads ^FH's _hh escapes.
func unescapeFH(tb testing.TB, s string) string {
	tb.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 > len(s) {
			tb.Fatalf("ZPL: ^FH escape cut short in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			tb.Fatalf("ZPL: ^FH escape %q: %v", s[i:i+3], err)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String()
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatalf("ZPL: %q is not a number", s)
	}
	return n
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s…", s[:40])
	}
	return s
}

package boxlabel

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

// deviceLabel is a fresh device's label as the companion makes it.
func deviceLabel(t *testing.T, deviceLabel string) Label {
	t.Helper()
	id := ektest.Identity(t, deviceLabel)
	payload, err := identity.Encode(id, identity.FormatV1)
	if err != nil {
		t.Fatal(err)
	}
	return Label{Payload: payload, Title: deviceLabel, ID: id.RegistrationID}
}

// assertReads checks that every reader, ours and the reference ones, reads want from img.
func assertReads(t *testing.T, img image.Image, name, want string) {
	t.Helper()
	got, err := reader.Decode(img)
	if err != nil || len(got) != 1 || got[0].Text != want {
		t.Errorf("pkg/qr/reader read %+v, %v; want the payload", got, err)
	}
	qrtest.AssertDecodes(t, qrtest.WritePNG(t, img, name), want)
}

// The ZPL graphic field is the code the payload encodes, module for module at a whole number of
// dots, quiet zone white, on a label of the stock's size in dots; the text fields spell the
// registration ID; and the printed label reads back as the payload.
func TestZPLPrintsTheExactCode(t *testing.T) {
	for _, m := range []Media{
		{Size{50, 30}, 203}, {Size{62, 29}, 300}, {Size{40, 60}, 203}, {Size{101.6, 152.4}, 203},
	} {
		t.Run(fmt.Sprintf("%s@%ddpi", m.Size, m.DPI), func(t *testing.T) {
			l := deviceLabel(t, "bay 4")
			var b bytes.Buffer
			if err := l.ZPL(&b, m); err != nil {
				t.Fatal(err)
			}
			labels := qrtest.ParseZPL(t, b.String())
			if len(labels) != 1 || labels[0].Graphics != 1 {
				t.Fatalf("%d labels, want one with one graphic:\n%s", len(labels), b.String())
			}
			got := labels[0]
			if w, h := m.Dots(); got.Width != w || got.Height != h {
				t.Errorf("^PW/^LL %d×%d, want the stock's %d×%d dots", got.Width, got.Height, w, h)
			}
			if text := strings.Join(got.Texts, ""); text != l.Title+l.ID {
				t.Errorf("text fields %q, want the label and the registration ID %q", got.Texts, l.Title+l.ID)
			}
			p, err := l.planZPL(m)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := qr.Encode(l.Payload, qr.LevelM)
			side := c.Size() + 2*qr.QuietZone
			scale := p.code.Width / side
			if scale*side != p.code.Width || float64(scale)*25.4/float64(m.DPI) < minModuleMM {
				t.Fatalf("graphic %d dots for %d modules", p.code.Width, side)
			}
			for my := range side {
				for mx := range side {
					want := uint8(0xff)
					if qx, qy := mx-qr.QuietZone, my-qr.QuietZone; qx >= 0 && qy >= 0 && qx < c.Size() && qy < c.Size() && c.Modules[qy][qx] {
						want = 0
					}
					for d := range scale * scale {
						if v := got.Image.GrayAt(p.codeX+mx*scale+d%scale, p.codeY+my*scale+d/scale).Y; v != want {
							t.Fatalf("module (%d,%d) prints %d, want %d", mx, my, v, want)
						}
					}
				}
			}
			assertReads(t, got.Image, "label.png", l.Payload)
		})
	}
}

// A PNG label is the stock's size in dots, and reads as the payload.
func TestPNGLabelReads(t *testing.T) {
	l := deviceLabel(t, "")
	m := Media{Size{50, 30}, 203}
	var b bytes.Buffer
	if err := l.PNG(&b, m); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := m.Dots(); img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Errorf("PNG %v, want %d×%d", img.Bounds(), w, h)
	}
	assertReads(t, img, "label.png", l.Payload)
}

// Stock too small for the code is refused with what to change, by every output.
func TestTooSmallSaysWhatToChange(t *testing.T) {
	l := deviceLabel(t, "")
	m := Media{Size{20, 10}, 203}
	if err := l.ZPL(new(bytes.Buffer), m); err == nil || !strings.Contains(err.Error(), "larger --size") {
		t.Errorf("ZPL: %v", err)
	}
	if _, err := l.Image(m); err == nil || !strings.Contains(err.Error(), "larger --size") {
		t.Errorf("image: %v", err)
	}
	if err := l.ZPL(new(bytes.Buffer), Media{Size{50, 30}, 72}); err == nil || !strings.Contains(err.Error(), "printer's") {
		t.Errorf("72 dpi: %v", err)
	}
	if _, err := (Label{Payload: strings.Repeat("x", 4000), ID: "x"}).Image(m); !errors.Is(err, qr.ErrTooLong) {
		t.Errorf("an over-long payload: %v", err)
	}
}

// Text in a ZPL field cannot end the field or start a command.
func TestZPLEscapesText(t *testing.T) {
	var b bytes.Buffer
	z := NewZPL(&b)
	z.Begin()
	z.Size(100, 100)
	z.Text(1, 2, 10, 10, "a^XZ~JR_b")
	if err := z.End(); err != nil {
		t.Fatal(err)
	}
	labels := qrtest.ParseZPL(t, b.String())
	if len(labels) != 1 || len(labels[0].Texts) != 1 || labels[0].Texts[0] != "a^XZ~JR_b" {
		t.Errorf("read back %+v from %q", labels, b.String())
	}
}

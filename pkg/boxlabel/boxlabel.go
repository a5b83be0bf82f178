// Package boxlabel lays out and renders box labels: a QR code with its quiet zone, at a whole
// number of printer dots per module, and a few lines of text, on label stock of a given size
// and resolution, as PNG, PDF (one label per page, or tiled on sheets) or Zebra ZPL II.
package boxlabel

import (
	"fmt"
	"image"

	"github.com/oobtpm/oob/pkg/display"
	"github.com/oobtpm/oob/pkg/qr"
)

// Label is what one box label shows.
type Label struct {
	// Payload is the QR code's text, encoded at error-correction level M, the level every
	// companion expects.
	Payload string
	// Title is a line above the ID, e.g. "Scan to activate"; empty leaves it out.
	Title string
	// ID is the identifier written out for a person, e.g. a registration ID or a GUID.
	ID string
	// Status is a line below the ID, e.g. an activation code; empty leaves it out.
	Status string
}

// screen is l as pkg/display draws it.
func (l Label) screen() (display.Screen, error) {
	c, err := qr.Encode(l.Payload, qr.LevelM)
	if err != nil {
		return display.Screen{}, fmt.Errorf("boxlabel: %w", err)
	}
	return display.Screen{Title: l.Title, Code: c, RegistrationID: l.ID, Status: l.Status}, nil
}

// Image draws l on an image of m's size in dots: the code at the largest whole number of dots
// per module that fits beside or below the text, its quiet zone kept, as pkg/display draws a
// device's screen. The zero Media gives display's default 800×480 image.
func (l Label) Image(m Media) (*image.RGBA, error) {
	s, err := l.screen()
	if err != nil {
		return nil, err
	}
	w, h := display.DefaultPNGWidth, display.DefaultPNGHeight
	if !m.IsZero() {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		w, h = m.Dots()
		// display draws the code at no fewer than min(3, what fits) pixels per module, which
		// is at least minScale dots up to 300 dpi, once minScale fit.
		if side := s.Code.Size() + 2*qr.QuietZone; side*m.minScale() > min(w, h) {
			return nil, fmt.Errorf("boxlabel: a %s label at %d dpi is %d×%d dots, but the QR code needs %d×%d (%d modules with its quiet zone, %d dots each): use a larger --size or a higher --dpi",
				m.Size, m.DPI, w, h, side*m.minScale(), side*m.minScale(), side, m.minScale())
		}
	}
	img, err := display.Render(s, w, h)
	if err != nil {
		return nil, m.tooSmall(err)
	}
	return img, nil
}

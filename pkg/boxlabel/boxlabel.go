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
		w, h = m.Dots()
	}
	img, err := display.Render(s, w, h)
	if err != nil {
		return nil, m.tooSmall(err)
	}
	return img, nil
}

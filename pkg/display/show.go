package display

import (
	"errors"
	"fmt"
	"io"

	"github.com/oobtpm/oob/pkg/qr"
)

// The outputs Show draws on.
const (
	OutputTerminal    = "terminal"
	OutputFramebuffer = "framebuffer"
	OutputPNG         = "png"
)

// CodeScreen returns the screen that shows payload as a QR code at level M, the level every
// companion expects, under title and with the registration ID written out.
func CodeScreen(title, payload, registrationID string) (Screen, error) {
	code, err := qr.Encode(payload, qr.LevelM)
	if err != nil {
		return Screen{}, err
	}
	return Screen{Title: title, Code: code, RegistrationID: registrationID}, nil
}

// Target is where Show draws a screen.
type Target struct {
	// Output is OutputTerminal, OutputFramebuffer or OutputPNG.
	Output string
	// Out is the terminal, and where the PNG goes when File is "-".
	Out io.Writer
	// Size is the terminal's size; zero when it is unknown.
	Size TermSize
	// FullScreen clears the terminal and centres the screen on it, for a console given over to
	// the device, instead of printing after what the terminal already shows.
	FullScreen bool
	// Framebuffer is the framebuffer device; Mode, when set, is its geometry, for a plain file
	// standing in for a device.
	Framebuffer string
	Mode        *FBMode
	// File is the PNG file, written atomically; "-" writes to Out.
	File string
}

// Show draws s on t's output.
func Show(s Screen, t Target) error {
	switch t.Output {
	case OutputTerminal:
		if t.Out == nil {
			return errors.New("display: no terminal")
		}
		if t.FullScreen {
			return RenderTerminalFullScreen(t.Out, s, t.Size)
		}
		return RenderTerminal(t.Out, s, t.Size)
	case OutputFramebuffer:
		fb, err := OpenFramebuffer(t.Framebuffer, t.Mode)
		if err != nil {
			return err
		}
		defer fb.Close()
		return fb.Draw(s)
	case OutputPNG:
		if t.File == "-" {
			return RenderPNG(t.Out, s, PNGOptions{})
		}
		return WritePNGFile(t.File, s, PNGOptions{})
	}
	return fmt.Errorf("display: unknown output %q", t.Output)
}

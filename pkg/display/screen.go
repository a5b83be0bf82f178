// Package display draws the device's enrollment screen (title, QR code, registration ID, status)
// to a terminal, a Linux framebuffer or a PNG image.
package display

import (
	"errors"
	"fmt"

	"github.com/oobtpm/oob/pkg/qr"
)

// Screen is what the device shows while it waits to be enrolled. Every output draws the same
// fields; empty text fields are left out.
type Screen struct {
	// Title names the device or the step, e.g. "Scan to enroll this device".
	Title string
	// Code is the QR code to show; it is required.
	Code *qr.Code
	// RegistrationID is the DPS registration ID, shown as text so a technician can read it
	// when the camera cannot.
	RegistrationID string
	// Status is a one-line state such as "waiting for enrollment".
	Status string
	// Lines are extra lines shown after the status, e.g. a hint or an error.
	Lines []string
}

// ErrNoCode means a Screen has no QR code to draw.
var ErrNoCode = errors.New("display: screen has no QR code")

// ErrTooSmall means the output cannot hold the QR code at full resolution. The error
// returned is a *TooSmallError that says how much room is needed.
var ErrTooSmall = errors.New("display: too small for the QR code")

// TooSmallError reports the room a screen needs and the room the output has.
type TooSmallError struct {
	// Output is "terminal" (sizes in columns and rows) or "image" (sizes in pixels).
	Output string
	// NeedWidth and NeedHeight are the smallest size that holds the screen.
	NeedWidth, NeedHeight int
	// HaveWidth and HaveHeight are the size that was available.
	HaveWidth, HaveHeight int
}

// Error says how much room is needed and how to get it.
func (e *TooSmallError) Error() string {
	if e.Output == "terminal" {
		return fmt.Sprintf("display: the terminal is %d×%d (columns×rows) but the QR code needs %d×%d: "+
			"enlarge the terminal or use a smaller font (setfont on the Linux console), "+
			"or write a PNG with --output png",
			e.HaveWidth, e.HaveHeight, e.NeedWidth, e.NeedHeight)
	}
	return fmt.Sprintf("display: the %s is %d×%d pixels but the QR code needs at least %d×%d: "+
		"use a larger image or a framebuffer with a higher resolution",
		e.Output, e.HaveWidth, e.HaveHeight, e.NeedWidth, e.NeedHeight)
}

// Is makes errors.Is(err, ErrTooSmall) true, so callers branch on the sentinel and read the
// sizes from the type.
func (e *TooSmallError) Is(target error) bool { return target == ErrTooSmall }

// check reports whether s can be drawn at all.
func (s *Screen) check() error {
	if s.Code == nil || s.Code.Size() == 0 {
		return ErrNoCode
	}
	return nil
}

// side is the width of the code in modules, quiet zone included.
func (s *Screen) side() int { return s.Code.Size() + 2*qr.QuietZone }

// dark reports whether module (x, y) of the code is dark; coordinates count the quiet zone,
// which is light.
func (s *Screen) dark(x, y int) bool {
	x -= qr.QuietZone
	y -= qr.QuietZone
	n := s.Code.Size()
	if x < 0 || y < 0 || x >= n || y >= n {
		return false
	}
	return s.Code.Modules[y][x]
}

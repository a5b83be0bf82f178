// Package qr turns payload text into QR module matrices.
package qr

import (
	"errors"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is a QR error-correction level.
type Level int

// Error-correction levels, from least to most redundant.
const (
	LevelL Level = iota
	LevelM
	LevelQ
	LevelH
)

// Code is an encoded QR symbol: a square of modules, without a quiet zone.
type Code struct {
	Version int
	Level   Level
	// Modules[y][x] is true for a dark module.
	Modules [][]bool
}

// Size is the number of modules on a side, without the quiet zone.
func (c *Code) Size() int { return len(c.Modules) }

// QuietZone is the width in modules of the light margin a reader needs around a code.
const QuietZone = 4

// ErrTooLong means the text does not fit a QR code of version 40 at the requested level.
var ErrTooLong = errors.New("qr: payload too long for a QR code")

// Encode encodes text with the smallest QR version that holds it at the given level.
// The encoder splits the text into numeric, alphanumeric and byte segments to keep it small.
func Encode(text string, level Level) (*Code, error) {
	var rl qrcode.RecoveryLevel
	switch level {
	case LevelL:
		rl = qrcode.Low
	case LevelM:
		rl = qrcode.Medium
	case LevelQ:
		rl = qrcode.High
	case LevelH:
		rl = qrcode.Highest
	default:
		return nil, fmt.Errorf("qr: unknown error-correction level %d", level)
	}
	q, err := qrcode.New(text, rl)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes: %v", ErrTooLong, len(text), err)
	}
	q.DisableBorder = true
	return &Code{Version: q.VersionNumber, Level: level, Modules: q.Bitmap()}, nil
}

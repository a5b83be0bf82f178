//go:build !linux

package camera

import (
	"context"
	"fmt"
)

// Webcam reads V4L2 cameras, which exist on Linux only.
type Webcam struct{}

// OpenWebcam fails on this system: cameras are read through ffmpeg instead.
func OpenWebcam(ctx context.Context, cfg WebcamConfig) (*Webcam, error) {
	return nil, fmt.Errorf("%w: --camera reads V4L2 devices on Linux; here use --ffmpeg-input "+
		"(macOS: '-f avfoundation -framerate 30 -i 0'; Windows: '-f dshow -i video=CAMERA NAME', "+
		"names from ffmpeg -list_devices true -f dshow -i dummy)", ErrUnsupported)
}

// Mode is the zero Mode.
func (w *Webcam) Mode() Mode { return Mode{} }

// Next fails: there is no webcam.
func (w *Webcam) Next(ctx context.Context) (Frame, error) { return Frame{}, ErrUnsupported }

// Close does nothing.
func (w *Webcam) Close() error { return nil }

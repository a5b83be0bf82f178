// Package camera delivers frames to the scan loop from a V4L2 webcam, an ffmpeg pipe (other
// operating systems' cameras and video files), or image files.
package camera

import (
	"context"
	"errors"
	"image"
	"time"
)

// Frame is one picture from a Source.
type Frame struct {
	// Image is the picture: *image.Gray (ffmpeg, YUYV is turned into *image.YCbCr) or what the
	// file or MJPEG frame decodes to (*image.YCbCr for JPEG), never converted to RGBA. It belongs
	// to the consumer: a source never writes to it again.
	Image image.Image
	// Time is when the source received the frame.
	Time time.Time
	// At is the frame's place in the stream, for telling how long something stayed in view: a
	// video's own time (however fast it is read), the time since a live source's first frame,
	// and one second per image for image files (each one is a separate look).
	At time.Duration
	// Seq numbers the source's frames from 1, dropped ones included, so gaps show drops.
	Seq int
	// Name says where the frame came from: the image file's path, the device or the video.
	Name string
}

// Source is a stream of frames. Next blocks until the next frame, returns io.EOF after the
// last one of a finite source (a video, a folder), and ctx's error when ctx ends first.
// Next is called by one goroutine at a time. Close releases the device or process; it may be
// called from another goroutine while Next waits, which then returns an error, and more than
// once.
type Source interface {
	Next(ctx context.Context) (Frame, error)
	Close() error
}

// ErrUnsupported means the source cannot be used on this operating system.
var ErrUnsupported = errors.New("camera: not supported on this system")

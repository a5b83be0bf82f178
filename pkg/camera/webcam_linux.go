//go:build linux

package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blackjack/webcam"

	"github.com/oobtpm/oob/pkg/imagefile"
)

// Webcam is a live Source reading a V4L2 camera. It hands over every frame the driver
// delivers; wrap it in Latest so the consumer only ever sees the newest.
type Webcam struct {
	device string
	mode   Mode
	now    func() time.Time

	mu     sync.Mutex // held while the device is used, so Close waits for a read in progress
	cam    *webcam.Webcam
	seq    int
	first  time.Time // when the first frame came, for Frame.At
	closed atomic.Bool
}

// waitSlice is how long one wait for a frame lasts before ctx and Close are looked at again.
const waitSlice = 100 // milliseconds

// OpenWebcam opens the camera, chooses its mode among what it offers (ChooseMode) and starts
// it streaming. When no offered mode fits, the error lists the ones it offers.
func OpenWebcam(ctx context.Context, cfg WebcamConfig) (*Webcam, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cam, err := webcam.Open(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("camera: open %s: %w (is it a V4L2 capture device, and may you read it? users are usually in the video group)", cfg.Device, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = cam.Close()
		}
	}()
	mode, err := ChooseMode(offers(cam), cfg.Want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Device, err)
	}
	if err := imagefile.CheckSize(mode.Width, mode.Height); err != nil {
		return nil, fmt.Errorf("camera: %s: mode %s: %w", cfg.Device, mode, err)
	}
	// The library returns the size asked for rather than the one the driver set, so only the
	// format it reports back is worth checking; the frame length is checked on every frame.
	format, _, _, err := cam.SetImageFormat(webcam.PixelFormat(mode.Format), uint32(mode.Width), uint32(mode.Height))
	if err != nil {
		return nil, fmt.Errorf("camera: %s: set %s: %w", cfg.Device, mode, err)
	}
	if PixelFormat(format) != mode.Format {
		return nil, fmt.Errorf("camera: %s: asked for %s, the driver chose %s", cfg.Device, mode, PixelFormat(format))
	}
	if mode.FPS > 0 {
		if err := cam.SetFramerate(float32(mode.FPS)); err != nil {
			return nil, fmt.Errorf("camera: %s: set %s fps: %w", cfg.Device, formatFPS(mode.FPS), err)
		}
	}
	if err := cam.StartStreaming(); err != nil {
		return nil, fmt.Errorf("camera: %s: start streaming %s: %w", cfg.Device, mode, err)
	}
	ok = true
	return &Webcam{device: cfg.Device, mode: mode, cam: cam, now: time.Now}, nil
}

// offers lists the modes the camera offers, in every format it has (so an error can name the
// ones we cannot read too).
func offers(cam *webcam.Webcam) []Offer {
	var out []Offer
	for f := range cam.GetSupportedFormats() {
		for _, s := range cam.GetSupportedFrameSizes(f) {
			o := Offer{Format: PixelFormat(f), Size: SizeRange{
				MinWidth: int(s.MinWidth), MaxWidth: int(s.MaxWidth), StepWidth: int(s.StepWidth),
				MinHeight: int(s.MinHeight), MaxHeight: int(s.MaxHeight), StepHeight: int(s.StepHeight),
			}}
			if o.Size.fixed() {
				for _, r := range cam.GetSupportedFramerates(f, s.MinWidth, s.MinHeight) {
					o.Rates = append(o.Rates, rateRange(r))
				}
			}
			out = append(out, o)
		}
	}
	sortOffers(out)
	return out
}

// rateRange turns V4L2 frame intervals (seconds per frame) into frames a second.
func rateRange(r webcam.FrameRate) RateRange {
	fps := func(num, den uint32) float64 {
		if num == 0 {
			return 0
		}
		return float64(den) / float64(num)
	}
	// The longest interval is the lowest rate.
	return RateRange{Min: fps(r.MaxNumerator, r.MinDenominator), Max: fps(r.MinNumerator, r.MaxDenominator)}
}

// Mode is the mode the camera was started in.
func (w *Webcam) Mode() Mode { return w.mode }

// Next waits for the camera's next frame. A few undecodable frames are skipped (cameras send
// some as they start); many in a row are an error.
func (w *Webcam) Next(ctx context.Context) (Frame, error) {
	bad := 0
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		img, err := w.read()
		var timeout *webcam.Timeout
		switch {
		case errors.As(err, &timeout):
			continue
		case errors.Is(err, errBadFrame):
			if bad++; bad < badFrameLimit {
				continue
			}
			return Frame{}, fmt.Errorf("camera: %s: %d frames in a row could not be read: %w", w.device, bad, err)
		case err != nil:
			return Frame{}, err
		case img == nil:
			continue
		}
		w.seq++
		now := w.now()
		if w.seq == 1 {
			w.first = now
		}
		return Frame{Image: img, Time: now, At: now.Sub(w.first), Seq: w.seq, Name: w.device}, nil
	}
}

var errBadFrame = errors.New("camera: unreadable frame")

// read waits up to waitSlice for a frame and converts it; nil and no error when the driver
// handed over an empty buffer.
func (w *Webcam) read() (image.Image, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return nil, ErrClosed
	}
	if err := w.cam.WaitForFrame(waitSlice); err != nil {
		return nil, err
	}
	buf, index, err := w.cam.GetFrame()
	if err != nil {
		return nil, fmt.Errorf("camera: %s: read frame: %w", w.device, err)
	}
	// The buffer is the driver's: convert it before handing it back.
	defer w.cam.ReleaseFrame(index)
	if len(buf) == 0 {
		return nil, nil
	}
	img, err := convertFrame(w.mode, buf)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadFrame, err)
	}
	return img, nil
}

// Close stops streaming and closes the device, after any read in progress.
func (w *Webcam) Close() error {
	if w.closed.Swap(true) {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cam.Close()
}

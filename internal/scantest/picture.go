package scantest

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/oobtpm/oob/pkg/display"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr"
)

// Width and Height are the size of every picture: a 720p webcam's frame.
const (
	Width  = 1280
	Height = 720
)

// Segment is a stretch of a video or frame sequence: one code in view, or none.
type Segment struct {
	// Text is the code's text; "" is a picture with no code (the camera between devices).
	Text string
	// Plain shows the code on its own, as a printed code on a sticker or a poster would be,
	// rather than on a device's enrollment screen.
	Plain bool
	// Duration is how long the segment lasts.
	Duration time.Duration
}

// The device's screen as the agent draws it, and where it sits in the camera's view: not
// filling the frame, a little enlarged (the camera is closer than one pixel per pixel), off
// centre, in a dark bezel, against a grey room.
const (
	screenW, screenH = 800, 480
	screenScale      = 1.2
	screenX, screenY = 190, 70
	bezel            = 18
	plainModule      = 6 // pixels per module of a plain code
	plainX, plainY   = 430, 110
)

var (
	room  = color.Gray{Y: 0x7a}
	frame = color.Gray{Y: 0x22}
)

// Picture is what a webcam sees of s: its code on a device's enrollment screen (display.Render,
// as the agent shows it), its plain code, or, for empty Text, the room with a screen that shows
// nothing.
func Picture(tb testing.TB, s Segment) *image.Gray {
	tb.Helper()
	img := image.NewGray(image.Rect(0, 0, Width, Height))
	draw.Draw(img, img.Rect, image.NewUniform(room), image.Point{}, draw.Src)
	switch {
	case s.Text == "":
		w, h := int(screenW*screenScale), int(screenH*screenScale)
		draw.Draw(img, image.Rect(screenX-bezel, screenY-bezel, screenX+w+bezel, screenY+h+bezel), image.NewUniform(frame), image.Point{}, draw.Src)
	case s.Plain:
		drawPlain(tb, img, s.Text)
	default:
		drawScreen(tb, img, s.Text)
	}
	return soften(img, lensBlur)
}

// lensBlur is how far, in pixels, a webcam's lens and sensor spread a sharp edge. Without it a
// screen scaled onto the frame is sharper than any camera sees it, and the module widths beat
// with the pixel grid: about one code in two hundred then defeats the scan's fast decoder,
// which a real camera's softness spares it.
const lensBlur = 2

// soften averages each pixel with its neighbours up to r pixels away in each direction: along
// rows, then along columns.
func soften(src *image.Gray, r int) *image.Gray {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	rows := image.NewGray(src.Rect)
	blur1D(src.Pix, rows.Pix, w, h, 1, src.Stride, r)
	out := image.NewGray(src.Rect)
	blur1D(rows.Pix, out.Pix, h, w, src.Stride, 1, r)
	return out
}

// blur1D blurs n lines of length pixels each: a pixel's neighbours are step apart, and lines
// start next apart.
func blur1D(src, dst []uint8, length, n, step, next, r int) {
	for l := range n {
		base := l * next
		for i := range length {
			lo, hi := max(0, i-r), min(length-1, i+r)
			sum := 0
			for j := lo; j <= hi; j++ {
				sum += int(src[base+j*step])
			}
			dst[base+i*step] = uint8(sum / (hi - lo + 1))
		}
	}
}

// drawScreen draws the enrollment screen showing text onto img.
func drawScreen(tb testing.TB, img *image.Gray, text string) {
	tb.Helper()
	scr := display.Screen{Title: "Scan to enroll this device", Code: encode(tb, text), Status: "Waiting for enrollment"}
	if id, err := identity.Parse(text); err == nil {
		scr.RegistrationID = id.RegistrationID()
	}
	shown, err := display.Render(scr, screenW, screenH)
	if err != nil {
		tb.Fatalf("draw the screen showing %.40q…: %v", text, err)
	}
	w, h := int(screenW*screenScale), int(screenH*screenScale)
	draw.Draw(img, image.Rect(screenX-bezel, screenY-bezel, screenX+w+bezel, screenY+h+bezel), image.NewUniform(frame), image.Point{}, draw.Src)
	xdraw.ApproxBiLinear.Scale(img, image.Rect(screenX, screenY, screenX+w, screenY+h), shown, shown.Bounds(), xdraw.Src, nil)
}

// drawPlain draws text's code on its own, quiet zone included, onto img.
func drawPlain(tb testing.TB, img *image.Gray, text string) {
	tb.Helper()
	code := encode(tb, text)
	side := (code.Size() + 2*qr.QuietZone) * plainModule
	draw.Draw(img, image.Rect(plainX, plainY, plainX+side, plainY+side), image.NewUniform(color.Gray{Y: 0xf0}), image.Point{}, draw.Src)
	ink := image.NewUniform(color.Gray{Y: 0x18})
	for y, row := range code.Modules {
		for x, dark := range row {
			if dark {
				x0, y0 := plainX+(qr.QuietZone+x)*plainModule, plainY+(qr.QuietZone+y)*plainModule
				draw.Draw(img, image.Rect(x0, y0, x0+plainModule, y0+plainModule), ink, image.Point{}, draw.Src)
			}
		}
	}
}

// encode is text's QR code at the level the agent uses.
func encode(tb testing.TB, text string) *qr.Code {
	tb.Helper()
	code, err := qr.Encode(text, qr.LevelM)
	if err != nil {
		tb.Fatalf("QR code of %.40q…: %v", text, err)
	}
	return code
}

// writePNG writes img to path, favouring speed over size: the files only live for a test.
func writePNG(tb testing.TB, path string, img image.Image) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		tb.Fatalf("write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

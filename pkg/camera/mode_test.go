package camera

import (
	"errors"
	"strings"
	"testing"
)

func fixed(f PixelFormat, w, h int, fps ...float64) Offer {
	o := Offer{Format: f, Size: SizeRange{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}}
	for _, r := range fps {
		o.Rates = append(o.Rates, RateRange{r, r})
	}
	return o
}

// A typical USB 2 webcam: MJPEG at every size at 30 fps, YUYV fast only when small.
var usbCamera = []Offer{
	fixed(FormatMJPEG, 1920, 1080, 30, 15),
	fixed(FormatMJPEG, 1280, 720, 30, 15),
	fixed(FormatMJPEG, 640, 480, 30, 15),
	fixed(FormatYUYV, 1280, 720, 10, 5),
	fixed(FormatYUYV, 640, 480, 30, 15),
	fixed(PixelFormat('H'|'2'<<8|'6'<<16|'4'<<24), 1920, 1080, 30),
}

func TestChooseMode(t *testing.T) {
	stepwise := []Offer{{Format: FormatYUYV, Size: SizeRange{MinWidth: 32, MaxWidth: 2592, StepWidth: 2, MinHeight: 32, MaxHeight: 1944, StepHeight: 2}}}
	tests := []struct {
		name   string
		offers []Offer
		want   Want
		mode   Mode
	}{
		{"nothing asked: 1280x720 at the fastest rate, in MJPEG since YUYV is slow there", usbCamera, Want{}, Mode{FormatMJPEG, 1280, 720, 30}},
		{"YUYV asked: its 720p at its fastest", usbCamera, Want{Format: FormatYUYV}, Mode{FormatYUYV, 1280, 720, 10}},
		{"a size and rate both formats have: YUYV, no decoding", usbCamera, Want{Width: 640, Height: 480, FPS: 30}, Mode{FormatYUYV, 640, 480, 30}},
		{"a rate only MJPEG has at 720p", usbCamera, Want{Width: 1280, Height: 720, FPS: 30}, Mode{FormatMJPEG, 1280, 720, 30}},
		{"a slower rate asked", usbCamera, Want{Width: 1920, Height: 1080, FPS: 15}, Mode{FormatMJPEG, 1920, 1080, 15}},
		{"rate within half a frame", usbCamera, Want{FPS: 29.97}, Mode{FormatMJPEG, 1280, 720, 29.97}},
		{"stepwise sizes: the target itself", stepwise, Want{}, Mode{FormatYUYV, 1280, 720, 0}},
		{"stepwise sizes: a size on the steps", stepwise, Want{Width: 800, Height: 600, FPS: 20}, Mode{FormatYUYV, 800, 600, 20}},
		{"only small sizes: the largest", []Offer{fixed(FormatYUYV, 320, 240, 30), fixed(FormatYUYV, 640, 480, 30)}, Want{}, Mode{FormatYUYV, 640, 480, 30}},
		{"only large sizes: the smallest", []Offer{fixed(FormatMJPEG, 3840, 2160, 30), fixed(FormatMJPEG, 1920, 1080, 30)}, Want{}, Mode{FormatMJPEG, 1920, 1080, 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseMode(tt.offers, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.mode {
				t.Errorf("got %v, want %v", got, tt.mode)
			}
		})
	}
}

// When nothing fits, the error names what the camera offers, so the technician can pick.
func TestChooseModeNoneFits(t *testing.T) {
	tests := []struct {
		name   string
		offers []Offer
		want   Want
		says   []string
	}{
		{"size not offered", usbCamera, Want{Width: 800, Height: 600},
			[]string{"no mode fits MJPEG or YUYV 800x600", "MJPG 1920x1080 at 30, 15 fps", "YUYV 640x480 at 30, 15 fps", "H264 1920x1080"}},
		{"rate not offered in the format asked", usbCamera, Want{Format: FormatYUYV, Width: 1280, Height: 720, FPS: 30},
			[]string{"no mode fits YUYV 1280x720 at 30 fps", "YUYV 1280x720 at 10, 5 fps"}},
		{"stepwise range shown", []Offer{{Format: FormatYUYV, Size: SizeRange{MinWidth: 32, MaxWidth: 640, StepWidth: 16, MinHeight: 32, MaxHeight: 480, StepHeight: 16}}}, Want{Width: 1280, Height: 720},
			[]string{"YUYV 32x32 to 640x480 (steps of 16x16)"}},
		{"no format we read", []Offer{fixed(PixelFormat('H'|'2'<<8|'6'<<16|'4'<<24), 1920, 1080, 30)}, Want{},
			[]string{"offers only H264", "--ffmpeg-input '-f v4l2 -i DEVICE'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ChooseMode(tt.offers, tt.want)
			var me *ModeError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *ModeError", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestPixelFormatNames(t *testing.T) {
	if FormatMJPEG.String() != "MJPG" || FormatYUYV.String() != "YUYV" || PixelFormat(1).String() != "0x00000001" {
		t.Errorf("names: %s %s %s", FormatMJPEG, FormatYUYV, PixelFormat(1))
	}
	for in, want := range map[string]PixelFormat{"": 0, "MJPEG": FormatMJPEG, "mjpg": FormatMJPEG, "yuyv": FormatYUYV, "YUY2": FormatYUYV} {
		if got, err := ParsePixelFormat(in); err != nil || got != want {
			t.Errorf("ParsePixelFormat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePixelFormat("h264"); err == nil {
		t.Error("ParsePixelFormat(h264) succeeded")
	}
}

package reader

import (
	"testing"
)

// TestCameraFrames reads crops of scripts/make-camera-set.sh's frames: our agent's screens as
// a webcam photographs them (moiré, perspective, glare, dim and light-on-dark screens), with
// both efforts, since the scan loop reads them with Fast and companion decode with Thorough.
// A frame without NAME.txt holds no code and must read as none.
func TestCameraFrames(t *testing.T) {
	frames := loadFolder(t, "testdata/camera", ".jpg", "the committed frames are missing")
	for _, f := range frames {
		for _, e := range []struct {
			name   string
			effort Effort
		}{{"thorough", Thorough}, {"fast", Fast}} {
			t.Run(f.name+"/"+e.name, func(t *testing.T) {
				checkFrame(t, f, &Decoder{Effort: e.effort})
			})
		}
	}
}

// Measured on the camera set that scripts/make-camera-set.sh makes (seed 1, 48 frames with a
// code): ZXingReader reads 26, zbarimg 11.
const (
	minCameraSetThorough = 32
	minCameraSetFast     = 28
)

// TestCameraSet guards the counts on the whole camera set when it has been made.
func TestCameraSet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: Thorough takes a second on each unreadable frame")
	}
	frames := loadCameraSet(t)
	for _, e := range []struct {
		name   string
		effort Effort
		want   int
	}{{"thorough", Thorough, minCameraSetThorough}, {"fast", Fast, minCameraSetFast}} {
		t.Run(e.name, func(t *testing.T) {
			d := Decoder{Effort: e.effort}
			ok, coded := 0, 0
			for _, f := range frames {
				if f.want == nil {
					continue
				}
				coded++
				if res, err := d.Decode(f.img); err == nil && containsText(res, f.want) {
					ok++
				}
			}
			t.Logf("%s: %d/%d frames read", e.name, ok, coded)
			if ok < e.want {
				t.Errorf("%s: %d/%d frames read, want at least %d", e.name, ok, coded, e.want)
			}
		})
	}
}

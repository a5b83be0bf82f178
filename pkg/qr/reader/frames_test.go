package reader

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
)

// TestWholeFrames reads whole 1280×720 frames of the camera set, on which Thorough works within
// its budget: one that only turning it by 22.5° or the multi-code search reads, one whose grid
// on the gray image decodes only nudged a version above the estimate (read at half size by
// the adaptive threshold, as nudged grids are left to smaller images), and one without a code,
// which must read as none.
// Each is decoded on one core and on several, which must give the same answer.
func TestWholeFrames(t *testing.T) {
	frames := loadFolder(t, "testdata/frames", ".jpg", "the committed frames are missing")
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			checkFrame(t, f, &Decoder{})
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			checkFrame(t, f, &Decoder{})
		})
	}
}

// checkFrame decodes f with d and checks it reads as its payload alone, or as none.
func checkFrame(t *testing.T, f labelledImage, d *Decoder) {
	t.Helper()
	res, err := d.Decode(f.img)
	if f.want == nil {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("GOMAXPROCS %d: Decode = %d codes, %v; want ErrNotFound", runtime.GOMAXPROCS(0), len(res), err)
		}
		return
	}
	if err != nil {
		t.Fatalf("GOMAXPROCS %d: Decode: %v", runtime.GOMAXPROCS(0), err)
	}
	if len(res) != 1 || !bytes.Equal(res[0].Bytes, f.want) {
		t.Fatalf("GOMAXPROCS %d: Decode = %s, want the device's payload", runtime.GOMAXPROCS(0), quoteResults(res))
	}
}

// hardCameraFrames are the frames of the camera set (seed 1) that only late or rare steps
// read: a blur, the turned frame, the half-size plane, the multi-code search.
var hardCameraFrames = []string{"cam-20", "cam-21", "cam-26", "cam-28", "cam-34", "cam-39", "cam-42"}

// TestCameraSetHardFrames checks, when the camera set has been made, that its hard frames
// still read as their payloads and its frames without a code as none.
func TestCameraSetHardFrames(t *testing.T) {
	hard := map[string]bool{}
	for _, n := range hardCameraFrames {
		hard[n] = true
	}
	for _, f := range loadCameraSet(t) {
		if f.want == nil || hard[f.name] {
			t.Run(f.name, func(t *testing.T) { checkFrame(t, f, &Decoder{}) })
			delete(hard, f.name)
		}
	}
	for n := range hard {
		t.Errorf("%s is not in the camera set", n)
	}
}

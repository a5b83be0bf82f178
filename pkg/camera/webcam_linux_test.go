//go:build linux

package camera

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Streaming from a V4L2 device cannot be tested without camera hardware, and v4l2loopback (a
// kernel module) is not available here; the mode choice and the frame conversion are tested as
// pure functions instead (mode_test.go, convert_test.go). What a technician sees when the
// device is not a camera is tested here.
func TestOpenWebcamNotACamera(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "video9")
	if _, err := OpenWebcam(context.Background(), WebcamConfig{Device: missing}); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("a missing device: %v", err)
	}
	_, err := OpenWebcam(context.Background(), WebcamConfig{Device: os.DevNull})
	if err == nil || !strings.Contains(err.Error(), os.DevNull) || !strings.Contains(err.Error(), "V4L2") {
		t.Errorf("a device that is not a camera: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

//go:build linux

package camera

import (
	"fmt"
	"path/filepath"

	"github.com/blackjack/webcam"
)

// FindWebcams looks at every device file matching pattern (DefaultDevices when empty), in
// name order: for each, the modes it offers or why it cannot be read. Device files that are
// not capture devices (a camera's metadata node) are listed with their error too. It starts
// no stream. No match is an empty list, not an error.
func FindWebcams(pattern string) ([]Found, error) {
	if pattern == "" {
		pattern = DefaultDevices
	}
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("camera: device pattern %q: %w", pattern, err)
	}
	out := make([]Found, 0, len(paths))
	for _, p := range paths {
		out = append(out, look(p))
	}
	return out, nil
}

func look(path string) Found {
	f := Found{Device: path}
	cam, err := webcam.Open(path)
	if err != nil {
		f.Err = fmt.Errorf("camera: open %s: %w", path, err)
		return f
	}
	defer cam.Close()
	f.Offers = offers(cam)
	f.Mode, f.Err = ChooseMode(f.Offers, Want{})
	return f
}

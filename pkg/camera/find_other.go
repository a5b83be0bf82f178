//go:build !linux

package camera

import "fmt"

// FindWebcams fails on this system: V4L2 cameras exist on Linux only; other systems' cameras
// are read through ffmpeg.
func FindWebcams(pattern string) ([]Found, error) {
	return nil, fmt.Errorf("%w: cameras are listed on Linux only; here list them with ffmpeg "+
		"(macOS: ffmpeg -f avfoundation -list_devices true -i ''; Windows: ffmpeg -list_devices true -f dshow -i dummy)", ErrUnsupported)
}

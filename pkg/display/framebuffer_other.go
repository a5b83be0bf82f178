//go:build !linux

package display

import (
	"fmt"
	"os"
)

// deviceMode is only available on Linux, the one system with the fbdev interface; plain
// files standing in for a framebuffer still work everywhere.
func deviceMode(f *os.File) (FBMode, int64, error) {
	return FBMode{}, 0, fmt.Errorf("%w; write a PNG or use the terminal on this system", ErrNeedsLinux)
}

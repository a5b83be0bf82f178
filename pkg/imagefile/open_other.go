//go:build !unix

package imagefile

import "os"

// openNoWait opens path for reading. Systems other than Unix have no FIFOs in the file system
// to wait on.
func openNoWait(path string) (*os.File, error) {
	return os.Open(path)
}

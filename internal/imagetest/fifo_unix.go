//go:build unix

package imagetest

import (
	"os"
	"syscall"
	"testing"
)

func makeFIFO(tb testing.TB, path string) string {
	tb.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// unblockFIFO opens the FIFO for writing without waiting: that succeeds only while a reader
// waits, and lets its open return.
func unblockFIFO(path string) {
	if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
}

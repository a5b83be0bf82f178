//go:build unix

package imagefile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO named like an image is refused at once, without waiting for a writer.
func TestOpenRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.png")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Open(context.Background(), path)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), path+" is a named pipe (FIFO), not a regular file") {
			t.Errorf("Open(FIFO) = %v, want ErrNotRegular saying it is a named pipe", err)
		}
	case <-time.After(5 * time.Second):
		// Unblock the open so that the test can end.
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("Open(FIFO) still waiting after 5 s")
	}
}

// A FIFO swapped in after the first look is opened without waiting and refused by the second.
func TestOpenNoWaitOnFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.png")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := openNoWait(path)
		if err == nil {
			fi, serr := f.Stat()
			f.Close()
			if serr == nil {
				err = regular(path, fi)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("after opening the FIFO: %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("openNoWait(FIFO) waited for a writer")
	}
}

//go:build unix

package companion

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
)

// Every file that is not a readable image is reported, saying which and why, and skipped: a
// decompression bomb (refused from its header), a directory, an empty file, /dev/null, a FIFO
// (refused without waiting for a writer) and text; the valid image after them is read.
func TestDecodeReportsEachBadFile(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.png")
	imagetest.WriteBomb(t, bomb, 20000, 20000, imagetest.RGBA16)
	empty := filepath.Join(dir, "empty.png")
	text := filepath.Join(dir, "notes.jpg")
	fifo := filepath.Join(dir, "f.png")
	sub := filepath.Join(dir, "sub")
	for _, err := range []error{
		os.WriteFile(empty, nil, 0o644), os.WriteFile(text, []byte("hello\n"), 0o644),
		syscall.Mkfifo(fifo, 0o644), os.Mkdir(sub, 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good.png")
	dev := writeCode(t, good)

	type result struct {
		stdout, stderr string
		err            error
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, err := runCmd(t, nil, decodeCmd, bomb, sub, empty, os.DevNull, fifo, text, good)
		done <- result{stdout, stderr, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("decode still running after a minute")
	}
	if r.err != nil {
		t.Fatalf("decode: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, dev.RegistrationID) {
		t.Errorf("the valid image after the bad ones was not read:\n%s", r.stdout)
	}
	for _, want := range []string{
		bomb + ": image too large: 20000×20000 pixels, at most 67108864 (8192×8192): crop or scale it down",
		sub + " is a directory, not an image file",
		empty + " is empty",
		os.DevNull + " is a character device, not a regular file",
		fifo + " is a named pipe (FIFO), not a regular file",
		text + ": not a readable image (PNG, JPEG or GIF)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
}

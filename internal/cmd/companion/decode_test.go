package companion

import (
	"bufio"
	"context"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/imagetest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/identity"
)

func decodeCmd(ios *cli.IOStreams) command {
	c := NewCmdDecode(ios, nil)
	c.SilenceErrors, c.SilenceUsage = true, true
	return c
}

// writeCode writes a camera's view of a device's code as a PNG and returns the device.
func writeCode(t *testing.T, path string) identity.Identity {
	t.Helper()
	dev := scantest.Devices(t, 1)[0]
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, scantest.Picture(t, scantest.Segment{Text: scantest.Payload(t, dev, identity.FormatV1)})); err != nil {
		t.Fatal(err)
	}
	return dev
}

// writeBomb writes a 20000×20000 16-bit RGBA PNG: 3 MB on disk, 3.2 GB decoded.
func writeBomb(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := imagetest.Bomb(w, 20000, 20000, imagetest.RGBA16); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Every file that is not a readable image is reported, saying which and why, and skipped: a
// decompression bomb (refused from its header), a directory, an empty file, /dev/null, a FIFO
// (refused without waiting for a writer) and text; the valid image after them is read.
func TestDecodeReportsEachBadFile(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.png")
	writeBomb(t, bomb)
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

// An image read from standard input that never comes gives way to Ctrl-C (the command's
// context, cancelled by SIGINT and SIGTERM) instead of waiting for ever.
func TestDecodeStdinGivesWayToCancel(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var out, errOut strings.Builder
	c := NewCmdDecode(cli.Test(pr, &out, &errOut), nil)
	c.SilenceErrors, c.SilenceUsage = true, true
	c.SetArgs([]string{"-"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("decode - returned %v with nothing on standard input", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while reading -") {
			t.Errorf("decode - after cancel: %v, want it interrupted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("decode - still waiting on standard input 5 s after cancel")
	}
}

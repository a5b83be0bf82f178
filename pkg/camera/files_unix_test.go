//go:build unix

package camera

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
	"github.com/oobtpm/oob/pkg/imagefile"
)

// Each bad file among image files is an ErrUnreadableFile naming it and why, and the files
// after it are still read: a decompression bomb (refused from its header), a FIFO (without
// waiting for a writer), an empty file, a directory, /dev/null and text.
func TestFilesSkipEachBadFile(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "frame-001.png")
	imagetest.WriteBomb(t, bomb, 20000, 20000, imagetest.RGBA16)
	fifo := filepath.Join(dir, "frame-002.png")
	empty := filepath.Join(dir, "frame-003.png")
	text := filepath.Join(dir, "frame-004.jpg")
	sub := filepath.Join(dir, "sub")
	for _, err := range []error{
		syscall.Mkfifo(fifo, 0o644), os.WriteFile(empty, nil, 0o644),
		os.WriteFile(text, []byte("hello\n"), 0o644), os.Mkdir(sub, 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "frame-005.png")
	writePNG(t, good, blank(30, 30, 7))

	src, err := OpenFiles(bomb, fifo, empty, text, sub, os.DevNull, good)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(time.Minute): // a test stuck on the FIFO: let it end
			if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
		}
	}()
	ctx := context.Background()
	for _, want := range []struct {
		is   error
		says string
	}{
		{imagefile.ErrTooLarge, bomb + ": image too large: 20000×20000 pixels"},
		{imagefile.ErrNotRegular, fifo + " is a named pipe (FIFO), not a regular file"},
		{imagefile.ErrEmpty, empty + " is empty"},
		{imagefile.ErrNotImage, text + ": not a readable image"},
		{imagefile.ErrNotRegular, sub + " is a directory"},
		{imagefile.ErrNotRegular, os.DevNull + " is a character device"},
	} {
		_, err := src.Next(ctx)
		if !errors.Is(err, ErrUnreadableFile) || !errors.Is(err, want.is) || !strings.Contains(err.Error(), want.says) {
			t.Errorf("Next = %v; want ErrUnreadableFile and %v saying %q", err, want.is, want.says)
		}
	}
	if fr, err := src.Next(ctx); err != nil || fr.Name != good || fr.Seq != 7 {
		t.Errorf("the good file after the bad ones: %+v, %v", fr, err)
	}
	if _, err := src.Next(ctx); err != io.EOF {
		t.Errorf("after the last file: %v, want io.EOF", err)
	}
}

// A FIFO or a file given as the image folder is refused at once, saying it is not a folder.
func TestOpenDirRefusesNonFolder(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "frames")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a.png")
	writePNG(t, file, blank(2, 2, 1))
	for _, path := range []string{fifo, file} {
		done := make(chan error, 1)
		go func() {
			_, err := OpenDir(path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), path+" is not a folder") {
				t.Errorf("OpenDir(%s) = %v, want it refused as not a folder", path, err)
			}
		case <-time.After(5 * time.Second):
			if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
			t.Fatalf("OpenDir(%s) still waiting after 5 s", path)
		}
	}
}

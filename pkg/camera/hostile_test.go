package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/pkg/imagefile"
)

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

// Each bad file among image files is an ErrUnreadableFile naming it and why, and the files
// after it are still read: a decompression bomb (refused from its header), a FIFO (without
// waiting for a writer), an empty file, a directory, /dev/null and text.
func TestFilesSkipEachBadFile(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "frame-001.png")
	writeBomb(t, bomb)
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

// An MJPEG frame whose header claims more than the reader takes is refused from its header,
// before the decoder allocates for it.
func TestMJPEGFrameTooLarge(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, blank(16, 16, 100), nil); err != nil {
		t.Fatal(err)
	}
	buf := b.Bytes()
	// The baseline frame header: FF C0, length, precision, then height and width.
	sof := bytes.Index(buf, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("no SOF0 in the encoded JPEG")
	}
	copy(buf[sof+5:], []byte{0xea, 0x60, 0xea, 0x60}) // 60000×60000
	if _, err := mjpegImage(buf); !errors.Is(err, imagefile.ErrTooLarge) || !strings.Contains(err.Error(), "60000×60000") {
		t.Errorf("mjpegImage = %v, want ErrTooLarge naming 60000×60000", err)
	}
}

// ffmpeg asked to deliver frames larger than the reader takes is stopped when it reports their
// size, before the first frame is read.
func TestFFmpegFramesTooLarge(t *testing.T) {
	qrtest.Tool(t, "ffmpeg", "ffmpeg")
	_, err := OpenFFmpeg(context.Background(), FFmpegConfig{Input: []string{"-f", "lavfi", "-i", "color=c=gray:s=9000x9000:r=1"}})
	if !errors.Is(err, imagefile.ErrTooLarge) || !strings.Contains(err.Error(), "9000×9000") {
		t.Errorf("OpenFFmpeg of 9000×9000 frames = %v, want ErrTooLarge", err)
	}
}

package imagefile

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
)

// writeBomb writes a 20000×20000 PNG of the given kind: a few MB on disk, up to 3.2 GB decoded.
func writeBomb(t testing.TB, kind int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bomb.png")
	imagetest.WriteBomb(t, path, 20000, 20000, kind)
	return path
}

// A PNG claiming 20000×20000 pixels is refused from its header, whatever its pixels' size, with
// its size and what to do in the message.
func TestOpenRefusesBomb(t *testing.T) {
	for _, tt := range []struct {
		name string
		kind int
	}{{"gray8", imagetest.Gray8}, {"rgba8", imagetest.RGBA8}, {"rgba16", imagetest.RGBA16}} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeBomb(t, tt.kind)
			img, err := Open(context.Background(), path)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Open = %T, %v; want ErrTooLarge", img, err)
			}
			for _, want := range []string{path, "20000×20000 pixels", "crop or scale it down"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// Standard input has no second look at the file: its header is kept and refused the same.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Read(context.Background(), bytes.NewReader(data), "standard input"); !errors.Is(err, ErrTooLarge) {
				t.Errorf("Read = %v, want ErrTooLarge", err)
			}
		})
	}
}

// BenchmarkOpenBomb measures the refusal of a 20000×20000 RGBA16 PNG: time and bytes allocated
// per refusal (a decode would allocate 3.2 GB).
func BenchmarkOpenBomb(b *testing.B) {
	path := writeBomb(b, imagetest.RGBA16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(context.Background(), path); !errors.Is(err, ErrTooLarge) {
			b.Fatal(err)
		}
	}
}

// Images of every format read here decode as they were written.
func TestOpenDecodes(t *testing.T) {
	src := image.NewGray(image.Rect(0, 0, 40, 30))
	for i := range src.Pix {
		src.Pix[i] = byte(i)
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		encode func(io.Writer, image.Image) error
	}{
		{"a.png", png.Encode},
		{"a.jpg", func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) }},
		{"a.gif", func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.encode(&b, src); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds() != src.Bounds() {
				t.Errorf("bounds %v, want %v", img.Bounds(), src.Bounds())
			}
			gray := color.GrayModel.Convert(img.At(5, 0)).(color.Gray).Y
			if d := int(gray) - 5; d < -8 || d > 8 {
				t.Errorf("pixel (5,0) = %d, want about 5", gray)
			}
			img, err = Read(context.Background(), bytes.NewReader(b.Bytes()), "standard input")
			if err != nil || img.Bounds() != src.Bounds() {
				t.Errorf("Read = %v, %v", img, err)
			}
		})
	}
}

// What is not an image says what it is instead: a directory, an empty file, a device, text.
func TestOpenSaysWhatItIs(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.png")
	text := filepath.Join(dir, "notes.png")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(text, []byte("not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		is   error
		says string
	}{
		{dir, ErrNotRegular, "is a directory"},
		{empty, ErrEmpty, "is empty"},
		{text, ErrNotImage, "not a readable image (PNG, JPEG or GIF)"},
		{filepath.Join(dir, "missing.png"), os.ErrNotExist, "cannot open image"},
	}
	if _, err := os.Stat(os.DevNull); err == nil && os.DevNull == "/dev/null" {
		tests = append(tests, struct {
			path string
			is   error
			says string
		}{os.DevNull, ErrNotRegular, "is a character device, not a regular file"})
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			_, err := Open(context.Background(), tt.path)
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Open(%s) = %v; want %v saying %q and naming the path", tt.path, err, tt.is, tt.says)
			}
		})
	}
	if _, err := Read(context.Background(), strings.NewReader(""), "standard input"); !errors.Is(err, ErrEmpty) ||
		!strings.Contains(err.Error(), "standard input") {
		t.Errorf("Read of nothing = %v, want ErrEmpty naming standard input", err)
	}
}

// A read waiting for input that never comes (standard input from a terminal or an idle pipe)
// returns when its context is cancelled, as Ctrl-C and SIGTERM cancel the companion's.
func TestReadGivesWayToCancel(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	// Half a PNG signature, then nothing: the decoder waits for the rest.
	go pw.Write([]byte("\x89PNG"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Read(ctx, pr, "standard input")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read returned %v before any input came", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waiting 5 s after its context was cancelled")
	}
}

// Decoding a file stops between reads once the context ends.
func TestOpenCancelled(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 30, 30))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.png")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v, want context.Canceled", err)
	}
}

package camera

import (
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/qr/reader"
)

// A folder is played in name order, PNG and JPEG alike, other files ignored; every frame is
// handed over, then io.EOF.
func TestDirInNameOrder(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "frame-002.png"), blank(4, 3, 2))
	writePNG(t, filepath.Join(dir, "frame-001.png"), blank(4, 3, 1))
	writePNG(t, filepath.Join(dir, "frame-003.PNG"), blank(4, 3, 3))
	f, err := os.Create(filepath.Join(dir, "frame-004.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, frameWithCode(t, 300, 300, "frame 4", 20, 20, 4), nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, other := range []string{"notes.txt", "frame-000.gif"} {
		if err := os.WriteFile(filepath.Join(dir, other), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.png"), 0o755); err != nil {
		t.Fatal(err)
	}

	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Len() != 4 {
		t.Fatalf("Len = %d, want 4", src.Len())
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		fr, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := fr.Image.(*image.Gray)
		if !ok || g.Pix[0] != byte(i) || fr.Seq != i {
			t.Fatalf("frame %d: %T seq %d, want the gray frame-%03d.png", i, fr.Image, fr.Seq, i)
		}
		// Each image is a separate look: one second apart in the stream.
		if want := time.Duration(i-1) * time.Second; fr.At != want {
			t.Errorf("frame %d: At = %v, want %v", i, fr.At, want)
		}
	}
	fr, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := reader.Decode(fr.Image)
	if err != nil || res[0].Text != "frame 4" {
		t.Errorf("the JPEG frame's code reads %v, %v", res, err)
	}
	if _, err := src.Next(ctx); err != io.EOF {
		t.Errorf("after the last file: %v, want io.EOF", err)
	}
}

func TestFilesErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenDir(dir); err == nil {
		t.Error("an empty folder was accepted")
	}
	if _, err := OpenDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing folder: %v", err)
	}
	bad := filepath.Join(dir, "bad.png")
	good := filepath.Join(dir, "good.png")
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	writePNG(t, good, blank(2, 2, 9))
	src, err := OpenFiles(bad, good)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A broken file is an error naming it; the next file is still read.
	if _, err := src.Next(ctx); err == nil || !strings.Contains(err.Error(), "bad.png") {
		t.Errorf("broken file: %v", err)
	}
	if fr, err := src.Next(ctx); err != nil || fr.Name != good || fr.Seq != 2 {
		t.Errorf("after a broken file: %+v, %v", fr, err)
	}
	src.Close()
	if _, err := src.Next(ctx); err != io.EOF {
		t.Errorf("after Close: %v, want io.EOF", err)
	}
	if _, err := OpenFiles(); err == nil {
		t.Error("no files accepted")
	}
}

func TestOpenNeedsOneSource(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{{}, {Images: "a", Video: "b"}, {Camera: "/dev/video0", FFmpegInput: []string{"-i", "x"}}} {
		if _, err := Open(ctx, cfg); !errors.Is(err, ErrNoSource) {
			t.Errorf("Open(%+v) = %v, want ErrNoSource", cfg, err)
		}
	}
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), blank(2, 2, 1))
	src, err := Open(ctx, Config{Images: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, ok := src.(*Files); !ok {
		t.Errorf("an image folder opened as %T, want *Files: read at the consumer's pace", src)
	}
}

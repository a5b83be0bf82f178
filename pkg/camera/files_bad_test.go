package camera

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/imagetest"
)

// Each bad file among image files is a *FileError naming it and why, and the files after it are
// still read: a decompression bomb (refused from its header), a FIFO (without waiting for a
// writer), an empty file, text, a directory and /dev/null.
func TestFilesSkipEachBadFile(t *testing.T) {
	dir := t.TempDir()
	bad := imagetest.MakeBadFiles(t, dir)
	defer time.AfterFunc(30*time.Second, bad.UnblockFIFO).Stop()
	good := filepath.Join(dir, "frame-001.png")
	writePNG(t, good, blank(30, 30, 7))
	var paths []string
	for _, r := range bad.Refusals() {
		paths = append(paths, r.Path)
	}
	src, err := OpenFiles(append(paths, good)...)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx := context.Background()
	for _, r := range bad.Refusals() {
		_, err := src.Next(ctx)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != r.Path || !errors.Is(err, ErrUnreadableFile) || !strings.Contains(err.Error(), r.Says) {
			t.Errorf("Next = %v; want a FileError for %s saying %q", err, r.Path, r.Says)
		}
	}
	if fr, err := src.Next(ctx); err != nil || fr.Name != good || fr.Seq != len(paths)+1 {
		t.Errorf("the good file after the bad ones: %+v, %v", fr, err)
	}
	if _, err := src.Next(ctx); err != io.EOF {
		t.Errorf("after the last file: %v, want io.EOF", err)
	}
}

// A FIFO or a file given as the image folder is refused at once, saying it is not a folder.
func TestOpenDirRefusesNonFolder(t *testing.T) {
	dir := t.TempDir()
	bad := imagetest.MakeBadFiles(t, dir)
	defer time.AfterFunc(30*time.Second, bad.UnblockFIFO).Stop()
	for _, path := range []string{bad.FIFO, bad.Empty} {
		if path == "" {
			continue
		}
		if _, err := OpenDir(path); err == nil || !strings.Contains(err.Error(), path+" is not a folder") {
			t.Errorf("OpenDir(%s) = %v, want it refused as not a folder", path, err)
		}
	}
}

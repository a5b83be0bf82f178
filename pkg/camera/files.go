package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oobtpm/oob/pkg/imagefile"
)

// Files is a finite Source of image files (PNG or JPEG), read one per Next at the consumer's
// pace, so nothing is ever dropped.
type Files struct {
	paths  []string
	next   int
	now    func() time.Time
	closed atomic.Bool
}

// OpenFiles returns a Source of the given image files, in the order given.
func OpenFiles(paths ...string) (*Files, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("camera: no image files given")
	}
	return &Files{paths: slices.Clone(paths), now: time.Now}, nil
}

// OpenDir returns a Source of the PNG and JPEG files in dir (not its subfolders), in name
// order: frames exported as frame-0001.png, frame-0002.png… play in sequence.
func OpenDir(dir string) (*Files, error) {
	// Look before reading: reading a FIFO given in place of a folder would wait for a writer.
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("camera: image folder: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("camera: image folder: %s is not a folder: give the folder the images are in", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("camera: image folder: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if e.Type().IsRegular() && isImageName(e.Name()) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("camera: %s holds no .png, .jpg or .jpeg files", dir)
	}
	// os.ReadDir already sorts by name; say so here rather than depend on it silently.
	slices.Sort(paths)
	return &Files{paths: paths, now: time.Now}, nil
}

func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// Len is how many files the source holds.
func (f *Files) Len() int { return len(f.paths) }

// ErrUnreadableFile marks a Files error about one file: the source goes on with the next.
var ErrUnreadableFile = errors.New("camera: unreadable image file")

// FileError is a Files error about one file: which file, and why it could not be read. It
// matches ErrUnreadableFile.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return ErrUnreadableFile.Error() + ": " + e.Err.Error() }

// Unwrap gives ErrUnreadableFile and the reason.
func (e *FileError) Unwrap() []error { return []error{ErrUnreadableFile, e.Err} }

// Next decodes the next file through imagefile. A file that is not a readable image (not a
// regular file, empty, damaged, or too large by its header, refused before it is decoded) is an
// *FileError naming it and why; the following Next goes on with the file after it.
func (f *Files) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if f.closed.Load() || f.next >= len(f.paths) {
		return Frame{}, io.EOF
	}
	path := f.paths[f.next]
	f.next++
	img, err := imagefile.Open(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return Frame{}, ctx.Err()
		}
		return Frame{}, &FileError{Path: path, Err: err}
	}
	return Frame{Image: img, Time: f.now(), At: time.Duration(f.next-1) * time.Second, Seq: f.next, Name: path}, nil
}

// Close ends the source; Next then returns io.EOF.
func (f *Files) Close() error {
	f.closed.Store(true)
	return nil
}

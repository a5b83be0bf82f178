package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // JPEG frames
	_ "image/png"  // PNG frames
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
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

// Next decodes the next file. A file that is not a readable image is an error naming it and
// wrapping ErrUnreadableFile; the following Next goes on with the file after it.
func (f *Files) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if f.closed.Load() || f.next >= len(f.paths) {
		return Frame{}, io.EOF
	}
	path := f.paths[f.next]
	f.next++
	img, err := decodeFile(path)
	if err != nil {
		return Frame{}, fmt.Errorf("%w: %w", ErrUnreadableFile, err)
	}
	return Frame{Image: img, Time: f.now(), At: time.Duration(f.next-1) * time.Second, Seq: f.next, Name: path}, nil
}

func decodeFile(path string) (image.Image, error) {
	r, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable PNG or JPEG image: %w", path, err)
	}
	return img, nil
}

// Close ends the source; Next then returns io.EOF.
func (f *Files) Close() error {
	f.closed.Store(true)
	return nil
}

package imagefile

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
)

// Open decodes the image file at path. Anything but a regular file (a directory, a FIFO, a
// device) is refused before it is opened for reading, and an image too large (see Decode)
// before its pixels are decoded. Reading stops when ctx ends. Errors name the path.
func Open(ctx context.Context, path string) (image.Image, error) {
	// Stat first, so that a FIFO is never opened: opening one for reading waits for a writer.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open image: %w", err)
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	// The path may have been replaced since: open without waiting, and look again at what was
	// opened.
	f, err := openNoWait(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open image: %w", err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("cannot open image: %w", err)
	}
	if err := regular(path, fi); err != nil {
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, refuse(ErrEmpty, "%s is empty: no bytes to decode; export or save the image again", path)
	}
	img, err := decode(ctxReader{ctx, f}, fi.Size())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Read decodes the image r holds, typically standard input, named name in errors. Reading
// gives way when ctx ends even while a read waits for input: Read then returns ctx's error,
// leaving that one read behind.
func Read(ctx context.Context, r io.Reader, name string) (image.Image, error) {
	img, err := Decode(waitReader{ctx, r})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, ErrEmpty) {
			return nil, refuse(ErrEmpty, "%s is empty: no bytes to decode; give it an image", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return img, nil
}

// regular refuses what is not a regular file, saying what it is.
func regular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	var what string
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return refuse(ErrNotRegular, "%s is a directory, not an image file: give the image files in it instead", path)
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	default:
		what = "a special file"
	}
	return refuse(ErrNotRegular, "%s is %s, not a regular file: give an image file, or - to read one from standard input", path, what)
}

// ctxReader stops reading a file once ctx ends: decoding a large image gives way between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// waitReader reads in another goroutine, so that a read waiting for input (a terminal, a pipe
// whose writer neither writes nor closes) returns when ctx ends. Once ctx has ended it reads
// no more, so the read left waiting is the only one.
type waitReader struct {
	ctx context.Context
	r   io.Reader
}

func (w waitReader) Read(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	type result struct {
		n   int
		err error
	}
	// A buffer of its own: the read left behind may still write to it after Read returns.
	buf := make([]byte, len(p))
	done := make(chan result, 1)
	go func() {
		n, err := w.r.Read(buf)
		done <- result{n, err}
	}()
	select {
	case res := <-done:
		return copy(p, buf[:res.n]), res.err
	case <-w.ctx.Done():
		return 0, w.ctx.Err()
	}
}

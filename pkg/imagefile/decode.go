package imagefile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF screenshots
	_ "image/jpeg" // camera stills and MJPEG frames
	_ "image/png"  // screenshots and the agent's own PNG screen
	"io"

	"github.com/oobtpm/oob/pkg/qr/reader"
)

// MaxPixels is the largest image read: the most the QR reader accepts, so nothing is decoded
// only to be refused afterwards.
const MaxPixels = reader.MaxPixels

// Sentinels for the conditions callers branch on; every error from this package wraps one.
var (
	// ErrTooLarge means the image's header claims more than MaxPixels pixels.
	ErrTooLarge = errors.New("imagefile: image too large")
	// ErrNotImage means the input is not an image in a format read here (PNG, JPEG, GIF), or
	// a damaged one.
	ErrNotImage = errors.New("imagefile: not a readable image")
	// ErrEmpty means the input holds no bytes at all.
	ErrEmpty = errors.New("imagefile: empty")
	// ErrNotRegular means the path names a directory, a FIFO, a device or a socket, which is
	// refused without reading from it.
	ErrNotRegular = errors.New("imagefile: not a regular file")
)

// maxHeader bounds what is held while the header is read, for input that cannot be read again
// (standard input): JPEG's metadata segments before the frame header are 64 KiB each, and a
// camera's still rarely has more than a few.
const maxHeader = 4 << 20

// maxJPEG bounds what is read into memory for libjpeg-turbo (see decodeTurbo): far more than
// any camera still; a larger file is left to image/jpeg, which reads as it decodes.
const maxJPEG = 256 << 20

// Decode decodes the image r holds after reading its header: an image claiming more than
// MaxPixels pixels is refused before any of its pixels is decoded. The header's bytes are
// kept and read again, so r need not seek.
func Decode(r io.Reader) (image.Image, error) {
	return decode(r, 0)
}

// decode is Decode of an input of size bytes when size is known (a file's), else 0: a JPEG
// image is then read for libjpeg-turbo into a buffer of that size rather than one grown by
// doubling, memory that a process decoding one photo would touch for the first time.
func decode(r io.Reader, size int64) (image.Image, error) {
	hdr := &header{max: maxHeader}
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, hdr))
	switch {
	case hdr.full:
		return nil, refuse(ErrNotImage, "not a readable image: no PNG, JPEG or GIF header in its first %d MiB", maxHeader>>20)
	case err != nil && hdr.b.Len() == 0 && (err == io.EOF || errors.Is(err, image.ErrFormat)):
		return nil, refuse(ErrEmpty, "empty: no bytes to decode; export or save the image again")
	case err != nil:
		return nil, notImage(err)
	}
	if err := CheckSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	rest := io.MultiReader(bytes.NewReader(hdr.b.Bytes()), r)
	if format == "jpeg" && turboJPEG {
		// libjpeg-turbo decodes from memory: the whole file is read first, up to maxJPEG.
		// The buffer's room beyond size lets ReadFrom see the end without growing it.
		buf := bytes.NewBuffer(make([]byte, 0, min(max(size, 0), maxJPEG)+bytes.MinRead))
		if _, err := buf.ReadFrom(io.LimitReader(rest, maxJPEG+1)); err != nil {
			return nil, notImage(err)
		}
		data := buf.Bytes()
		if len(data) <= maxJPEG {
			if img, ok := decodeTurbo(data); ok {
				return img, nil
			}
		}
		rest = io.MultiReader(bytes.NewReader(data), r)
	}
	img, _, err := image.Decode(rest)
	if err != nil {
		return nil, notImage(err)
	}
	return img, nil
}

func notImage(err error) error {
	return &refusal{msg: fmt.Sprintf("not a readable image (PNG, JPEG or GIF): %v; save it again as PNG or JPEG", err), kind: ErrNotImage, err: err}
}

// CheckSize refuses a width×height image of more than MaxPixels pixels, for sources that know
// a frame's size before reading it.
func CheckSize(width, height int) error {
	if width < 0 || height < 0 || int64(width)*int64(height) > MaxPixels {
		return refuse(ErrTooLarge, "image too large: %d×%d pixels, at most %d (8192×8192): crop or scale it down", width, height, MaxPixels)
	}
	return nil
}

// refusal is an error in its own words that matches one of the package's sentinels (kind), and
// the decoder's error under it when there is one.
type refusal struct {
	msg  string
	kind error
	err  error
}

func refuse(kind error, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...), kind: kind}
}

func (r *refusal) Error() string { return r.msg }

func (r *refusal) Unwrap() []error {
	if r.err == nil {
		return []error{r.kind}
	}
	return []error{r.kind, r.err}
}

// header keeps the bytes the header was read from, up to max.
type header struct {
	b    bytes.Buffer
	max  int
	full bool
}

var errHeaderFull = errors.New("imagefile: header too long")

func (h *header) Write(p []byte) (int, error) {
	if h.b.Len()+len(p) > h.max {
		h.full = true
		return 0, errHeaderFull
	}
	return h.b.Write(p)
}

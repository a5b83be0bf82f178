// Package imagetest makes hostile image files for tests: valid images whose header claims far
// more pixels than their few bytes seem to hold.
package imagetest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"testing"
)

// PNG colour types and bit depths the bombs are made in.
const (
	Gray8  = iota // 1 byte a pixel
	RGBA8         // 4 bytes a pixel
	RGBA16        // 8 bytes a pixel
)

// Bomb writes a valid PNG of w×h black (or transparent) pixels in the given kind (Gray8, RGBA8,
// RGBA16). Its pixels compress about a thousandfold, so 20000×20000 RGBA16 is some 3 MB on disk
// and 3.2 GB decoded. It is written in constant memory: the compressed form of 1 MiB of zeros
// is made once and repeated, each copy a self-contained deflate block.
func Bomb(w io.Writer, width, height, kind int) error {
	colorType, depth, bpp := byte(0), byte(8), 1
	switch kind {
	case RGBA8:
		colorType, bpp = 6, 4
	case RGBA16:
		colorType, depth, bpp = 6, 16, 8
	}
	if _, err := w.Write([]byte("\x89PNG\r\n\x1a\n")); err != nil {
		return err
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = depth, colorType
	if err := chunk(w, "IHDR", ihdr); err != nil {
		return err
	}
	// Every row is a filter byte (0, none) and its pixels (0): the raw stream is all zeros.
	total := uint64(height) * uint64(1+width*bpp)
	const block = 1 << 20
	full, err := zeros(block, false)
	if err != nil {
		return err
	}
	// zlib header (deflate, 32 KiB window, default level), then the blocks.
	if err := chunk(w, "IDAT", []byte{0x78, 0x9c}); err != nil {
		return err
	}
	for n := total / block; n > 0; n-- {
		if err := chunk(w, "IDAT", full); err != nil {
			return err
		}
	}
	last, err := zeros(int(total%block), true)
	if err != nil {
		return err
	}
	// Adler-32 of zeros: a stays 1, b adds 1 per byte.
	last = binary.BigEndian.AppendUint32(last, uint32(total%65521)<<16|1)
	if err := chunk(w, "IDAT", last); err != nil {
		return err
	}
	return chunk(w, "IEND", nil)
}

// zeros is n zero bytes as raw deflate blocks that refer to nothing before them, ending the
// stream when final.
func zeros(n int, final bool) ([]byte, error) {
	var b bytes.Buffer
	fw, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(make([]byte, n)); err != nil {
		return nil, err
	}
	if final {
		err = fw.Close()
	} else {
		err = fw.Flush()
	}
	return b.Bytes(), err
}

func chunk(w io.Writer, typ string, data []byte) error {
	buf := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	buf = append(buf, typ...)
	buf = append(buf, data...)
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf[4:]))
	_, err := w.Write(buf)
	return err
}

// WriteBomb writes a Bomb of width×height pixels of kind to a new file at path.
func WriteBomb(tb testing.TB, path string, width, height, kind int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := Bomb(w, width, height, kind); err != nil {
		tb.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

package camera

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"sync"

	"github.com/oobtpm/oob/pkg/imagefile"
)

// yuyvImage turns a YUYV frame (Y0 Cb Y1 Cr for each pair of pixels) into a 4:2:2 YCbCr image:
// the planes are only de-interleaved, no pixel is converted.
func yuyvImage(buf []byte, w, h int) (*image.YCbCr, error) {
	if w <= 0 || h <= 0 || w%2 != 0 {
		return nil, fmt.Errorf("camera: YUYV frame %dx%d: the width must be even and positive", w, h)
	}
	if len(buf) < w*h*2 {
		return nil, fmt.Errorf("camera: YUYV frame of %d bytes, want %d for %dx%d", len(buf), w*h*2, w, h)
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for y := range h {
		row := buf[y*w*2 : (y+1)*w*2]
		ys := img.Y[y*img.YStride : y*img.YStride+w]
		cb := img.Cb[y*img.CStride : y*img.CStride+w/2]
		cr := img.Cr[y*img.CStride : y*img.CStride+w/2]
		for i := range w / 2 {
			p := row[4*i : 4*i+4 : 4*i+4]
			ys[2*i], cb[i], ys[2*i+1], cr[i] = p[0], p[1], p[2], p[3]
		}
	}
	return img, nil
}

// mjpegImage decodes an MJPEG frame. Many webcams leave the Huffman tables out of every frame
// (MJPEG's AVI1 convention: the decoder is to assume JPEG's standard tables), which Go's
// decoder refuses; the standard tables are put back first.
func mjpegImage(buf []byte) (image.Image, error) {
	buf = withHuffmanTables(buf)
	// The frame's header, not the mode asked for, says how much the decoder will allocate.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("camera: MJPEG frame: %w", err)
	}
	if err := imagefile.CheckSize(cfg.Width, cfg.Height); err != nil {
		return nil, fmt.Errorf("camera: MJPEG frame: %w", err)
	}
	img, err := jpeg.Decode(bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("camera: MJPEG frame: %w", err)
	}
	return img, nil
}

// JPEG markers withHuffmanTables looks for.
const (
	markerSOI = 0xd8
	markerDHT = 0xc4
	markerSOS = 0xda
)

// withHuffmanTables returns buf with JPEG's standard Huffman tables inserted before its first
// scan when it has no tables of its own; otherwise (or when buf is not a JPEG that can be
// walked) buf itself.
func withHuffmanTables(buf []byte) []byte {
	if len(buf) < 4 || buf[0] != 0xff || buf[1] != markerSOI {
		return buf
	}
	for i := 2; i+4 <= len(buf); {
		if buf[i] != 0xff {
			return buf
		}
		marker := buf[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == markerDHT:
			return buf
		case marker == markerSOS:
			out := make([]byte, 0, len(buf)+len(standardTables()))
			out = append(out, buf[:i]...)
			out = append(out, standardTables()...)
			return append(out, buf[i:]...)
		case marker >= 0xd0 && marker <= 0xd7, marker == 0x01: // no length
			i += 2
			continue
		}
		i += 2 + int(binary.BigEndian.Uint16(buf[i+2:]))
	}
	return buf
}

// standardTables is a DHT segment with the tables of JPEG's annex K.3, the ones MJPEG assumes.
// Go's encoder writes exactly these (all four for a colour image), so the segment is taken
// from a JPEG it encodes.
var standardTables = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 16, 16)), nil); err != nil {
		panic("camera: encoding a JPEG in memory: " + err.Error())
	}
	j := b.Bytes()
	for i := 2; i+4 <= len(j); {
		n := 2 + int(binary.BigEndian.Uint16(j[i+2:]))
		if j[i+1] == markerDHT {
			return j[i : i+n : i+n]
		}
		i += n
	}
	panic("camera: Go's JPEG encoder wrote no Huffman tables")
})

// convertFrame turns a camera buffer in mode's format into an image the consumer owns.
func convertFrame(m Mode, buf []byte) (image.Image, error) {
	switch m.Format {
	case FormatYUYV:
		return yuyvImage(buf, m.Width, m.Height)
	case FormatMJPEG:
		return mjpegImage(buf)
	}
	return nil, fmt.Errorf("camera: cannot read %s frames", m.Format)
}

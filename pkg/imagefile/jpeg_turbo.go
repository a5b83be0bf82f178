//go:build turbojpeg && cgo

package imagefile

/*
#cgo LDFLAGS: -lturbojpeg
#include <turbojpeg.h>
*/
import "C"

import (
	"image"
	"runtime"
	"unsafe"
)

// turboJPEG is true when JPEG images are decoded by libjpeg-turbo (this build, -tags
// turbojpeg, with cgo).
const turboJPEG = true

// decodeTurbo decodes the JPEG image data holds with libjpeg-turbo, into the same image types
// as image/jpeg: *image.Gray for a grey image, *image.YCbCr with its chroma subsampling for a
// colour one. It is four times faster than image/jpeg on a webcam frame. ok is false for what
// it leaves to image/jpeg: CMYK and YCCK images, subsamplings image.YCbCr lacks, and any file
// libjpeg-turbo fails on or warns about, so that a damaged file gets image/jpeg's verdict.
func decodeTurbo(data []byte) (img image.Image, ok bool) {
	if len(data) == 0 {
		return nil, false
	}
	h := C.tjInitDecompress()
	if h == nil {
		return nil, false
	}
	defer C.tjDestroy(h)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	size := C.ulong(len(data))
	var w, ht, subsamp, colorspace C.int
	if C.tjDecompressHeader3(h, src, size, &w, &ht, &subsamp, &colorspace) != 0 {
		return nil, false
	}
	width, height := int(w), int(ht)
	if width <= 0 || height <= 0 || int64(width)*int64(height) > MaxPixels {
		return nil, false
	}
	r := image.Rect(0, 0, width, height)
	// Stop on the first warning (corrupt data the library would otherwise paper over).
	flags := C.int(C.TJFLAG_STOPONWARNING)
	switch {
	case colorspace == C.TJCS_GRAY:
		g := image.NewGray(r)
		if C.tjDecompress2(h, src, size, (*C.uchar)(unsafe.Pointer(&g.Pix[0])), w, C.int(g.Stride), ht, C.TJPF_GRAY, flags) != 0 {
			return nil, false
		}
		return g, true
	case colorspace == C.TJCS_YCbCr:
		ratio, known := ratios[subsamp]
		if !known || !plainChroma(data, width, height) {
			return nil, false
		}
		m := image.NewYCbCr(r, ratio)
		cw, ch := m.CStride, len(m.Cb)/m.CStride
		if int(C.tjPlaneWidth(1, w, subsamp)) != cw || int(C.tjPlaneHeight(1, ht, subsamp)) != ch {
			return nil, false
		}
		// C is given an array of the three planes' addresses: they are pinned for the call, as
		// Go memory passed to C may hold only pinned Go pointers.
		var pin runtime.Pinner
		defer pin.Unpin()
		var planes [3]*C.uchar
		for i, p := range [][]byte{m.Y, m.Cb, m.Cr} {
			pin.Pin(&p[0])
			planes[i] = (*C.uchar)(unsafe.Pointer(&p[0]))
		}
		strides := [3]C.int{C.int(m.YStride), C.int(m.CStride), C.int(m.CStride)}
		if C.tjDecompressToYUVPlanes(h, src, size, &planes[0], w, &strides[0], ht, flags) != 0 {
			return nil, false
		}
		return m, true
	}
	return nil, false
}

// ratios maps libjpeg-turbo's chroma subsamplings to image.YCbCr's; 4:1:0 has none.
var ratios = map[C.int]image.YCbCrSubsampleRatio{
	C.TJSAMP_444: image.YCbCrSubsampleRatio444,
	C.TJSAMP_422: image.YCbCrSubsampleRatio422,
	C.TJSAMP_420: image.YCbCrSubsampleRatio420,
	C.TJSAMP_440: image.YCbCrSubsampleRatio440,
	C.TJSAMP_411: image.YCbCrSubsampleRatio411,
}

// plainChroma reports whether the frame header of the JPEG image data holds gives both chroma
// components one sample per block (1×1), the form whose subsampling libjpeg-turbo and
// image/jpeg name alike, and whether the width×height image is a whole number of blocks of
// luma samples (MCUs): libjpeg-turbo's planes differ from image/jpeg's in the last chroma row or
// column otherwise. Other images (a 2×2 luma with 1×2 chroma, also 4:2:2; a 4:2:0 image 1080
// rows high) are left to image/jpeg.
func plainChroma(data []byte, width, height int) bool {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return false
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return false
		}
		marker := data[i+1]
		if marker == 0xff { // fill byte
			i++
			continue
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 || i+2+n > len(data) {
			return false
		}
		seg := data[i+4 : i+2+n]
		switch marker {
		case 0xc0, 0xc1, 0xc2: // baseline, extended, progressive
			// Precision, height, width, the number of components, then 3 bytes for each:
			// its id, its horizontal and vertical sampling factors, its table.
			if len(seg) < 6+3*3 || seg[5] != 3 {
				return false
			}
			h, v := int(seg[6+1]>>4), int(seg[6+1]&15)
			return seg[6+3+1] == 0x11 && seg[6+6+1] == 0x11 && h > 0 && v > 0 &&
				width%(8*h) == 0 && height%(8*v) == 0
		case 0xda: // start of scan before any frame header
			return false
		}
		i += 2 + n
	}
	return false
}

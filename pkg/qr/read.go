package qr

import (
	"errors"
	"fmt"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	multidetector "github.com/makiuchi-d/gozxing/multi/qrcode/detector"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// symbol is one code read from one binarized matrix, in that matrix's coordinates.
type symbol struct {
	result  *common.DecoderResult
	corners [4][2]float64 // top-left, top-right, bottom-right, bottom-left of the symbol
}

// errLibrary marks a panic inside gozxing turned into an error.
var errLibrary = errors.New("qr: decoder library failed on this image")

// guard converts a panic raised inside gozxing into an error. gozxing is a line-by-line port
// of Java code that relied on exceptions and bounds checks; some malformed bit patterns still
// index out of range there. Such a panic concerns one attempt on one image, so it is reported
// as a failed attempt instead of taking the caller's program down. Only calls into gozxing are
// guarded; a panic in this package's own code is a bug and is not recovered.
func guard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %v", errLibrary, r)
	}
}

// readSingle finds the most likely code in m and decodes it.
func readSingle(m *gozxing.BitMatrix, hints map[gozxing.DecodeHintType]any) (s symbol, err error) {
	defer guard(&err)
	det, err := detector.NewDetector(m).Detect(hints)
	if err != nil {
		return symbol{}, err
	}
	return decodeDetected(det, hints)
}

// readMulti finds every code in m that its finder-pattern triples allow and decodes those it
// can; undecodable candidates are skipped.
func readMulti(m *gozxing.BitMatrix, hints map[gozxing.DecodeHintType]any) (out []symbol, err error) {
	defer guard(&err)
	dets, err := multidetector.NewMultiDetector(m).DetectMulti(hints)
	if err != nil {
		return nil, err
	}
	for _, det := range dets {
		s, err := decodeDetected(det, hints)
		if err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

func decodeDetected(det *common.DetectorResult, hints map[gozxing.DecodeHintType]any) (symbol, error) {
	bits := det.GetBits()
	res, err := decoder.NewDecoder().Decode(bits, hints)
	if err != nil {
		return symbol{}, err
	}
	s := symbol{result: res}
	// The detector reports finder-pattern centres (bottom-left, top-left, top-right and perhaps
	// the alignment pattern). Callers want the symbol's outline, so the corners are projected
	// from module space with the same transform the detector sampled with.
	pts := det.GetPoints()
	dim := bits.GetWidth()
	if len(pts) >= 3 && dim > 0 {
		var align *detector.AlignmentPattern
		if len(pts) > 3 {
			align, _ = pts[3].(*detector.AlignmentPattern)
		}
		t := detector.Detector_createTransform(pts[1], pts[2], pts[0], align, dim)
		d := float64(dim)
		xy := []float64{0, 0, d, 0, d, d, 0, d}
		t.TransformPoints(xy)
		for i := range s.corners {
			s.corners[i] = [2]float64{xy[2*i], xy[2*i+1]}
		}
		if md, ok := res.GetOther().(*decoder.QRCodeDecoderMetaData); ok && md.IsMirrored() {
			// A mirrored symbol was read with its top-right and bottom-left swapped.
			s.corners[1], s.corners[3] = s.corners[3], s.corners[1]
		}
	}
	return s, nil
}

package reader

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
	// finders are the centres of its finder patterns (bottom-left, top-left, top-right) and
	// their module size, for readMulti to know this code again.
	finders [3]gozxing.ResultPoint
	module  float64
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

// readSingle finds the most likely code in m and decodes it. A code whose finder patterns were
// found but whose grid did not decode gets more grids (see resampled), nudged ones too when
// thorough; stop, if not nil, is asked between grids whether the answer is still wanted.
// It reports whether finder patterns were found, decoded or not.
func readSingle(m *gozxing.BitMatrix, hints map[gozxing.DecodeHintType]any, thorough bool, stop func() bool) (s symbol, found bool, err error) {
	defer guard(&err)
	_, tryHarder := hints[gozxing.DecodeHintType_TRY_HARDER]
	info, err := findPatterns(m, tryHarder)
	if err != nil {
		return symbol{}, false, err
	}
	s, err = readFound(m, info, hints, thorough, stop)
	return s, true, err
}

// readFound decodes the code whose finder patterns are info: gozxing's own grid first. When
// stop says so before the grid is decoded (its error correction is most of the time of a large
// code), it gives up.
func readFound(m *gozxing.BitMatrix, info *detector.FinderPatternInfo, hints map[gozxing.DecodeHintType]any, thorough bool, stop func() bool) (symbol, error) {
	s, err := func() (symbol, error) {
		if det, err := detector.NewDetector(m).ProcessFinderPatternInfo(info); err == nil {
			if stop != nil && stop() {
				return symbol{}, errAbandoned
			}
			if s, err := decodeDetected(det, hints); err == nil {
				return s, nil
			}
		}
		return resampled(m, info, hints, thorough, stop)
	}()
	if err == nil {
		tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
		s.finders = [3]gozxing.ResultPoint{bl, tl, tr}
		s.module = (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
	}
	return s, err
}

// readMulti finds every code in m that its finder-pattern triples allow and decodes those it
// can; undecodable candidates are skipped, and so are those whose finder patterns are the ones
// of a code already read (known, from the same matrix): decoding it again would cost another
// error correction for the same contents.
func readMulti(m *gozxing.BitMatrix, hints map[gozxing.DecodeHintType]any, known ...symbol) (out []symbol, err error) {
	defer guard(&err)
	dets, err := multidetector.NewMultiDetector(m).DetectMulti(hints)
	if err != nil {
		return nil, err
	}
	for _, det := range dets {
		if readAlready(det.GetPoints(), known) {
			continue
		}
		s, err := decodeDetected(det, hints)
		if err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// readAlready reports whether the finder-pattern centres pts (bottom-left, top-left, top-right,
// as gozxing's detectors give them) are those of one of the symbols read, each within a module.
func readAlready(pts []gozxing.ResultPoint, read []symbol) bool {
	if len(pts) < 3 {
		return false
	}
next:
	for _, s := range read {
		if s.finders[0] == nil || s.module <= 0 {
			continue
		}
		for i, f := range s.finders {
			if gozxing.ResultPoint_Distance(pts[i], f) > s.module {
				continue next
			}
		}
		return true
	}
	return false
}

func decodeDetected(det *common.DetectorResult, hints map[gozxing.DecodeHintType]any) (symbol, error) {
	bits := det.GetBits()
	res, err := decoder.NewDecoder().Decode(bits, hints)
	if err != nil {
		return symbol{}, err
	}
	dim := bits.GetWidth()
	return symbolFrom(res, pointsProjector(det.GetPoints(), dim), dim), nil
}

// projector maps module coordinates of a symbol to coordinates in the binarized matrix.
type projector func(x, y float64) (float64, float64)

// transformProjector adapts a gozxing transform.
func transformProjector(t *common.PerspectiveTransform) projector {
	return func(x, y float64) (float64, float64) {
		p := []float64{x, y}
		t.TransformPoints(p)
		return p[0], p[1]
	}
}

// pointsProjector rebuilds the transform gozxing's detector sampled with from the points it
// reports: finder-pattern centres (bottom-left, top-left, top-right) and perhaps the
// alignment pattern.
func pointsProjector(pts []gozxing.ResultPoint, dim int) projector {
	if len(pts) < 3 {
		return nil
	}
	var align *detector.AlignmentPattern
	if len(pts) > 3 {
		align, _ = pts[3].(*detector.AlignmentPattern)
	}
	return transformProjector(detector.Detector_createTransform(pts[1], pts[2], pts[0], align, dim))
}

// symbolFrom pairs a decoded result with the outline of its symbol: callers want the corners,
// not the finder-pattern centres the detector reports, so they are projected from module space.
func symbolFrom(res *common.DecoderResult, project projector, dim int) symbol {
	s := symbol{result: res}
	if project == nil {
		return s
	}
	d := float64(dim)
	for i, c := range [4][2]float64{{0, 0}, {d, 0}, {d, d}, {0, d}} {
		x, y := project(c[0], c[1])
		s.corners[i] = [2]float64{x, y}
	}
	if md, ok := res.GetOther().(*decoder.QRCodeDecoderMetaData); ok && md.IsMirrored() {
		// A mirrored symbol was read with its top-right and bottom-left swapped.
		s.corners[1], s.corners[3] = s.corners[3], s.corners[1]
	}
	return s
}

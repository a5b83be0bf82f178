package reader

import (
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// TestFindPatternsAsGozxing checks that findPatterns picks the same finder patterns as
// gozxing's own finder on the binarizations the decoder makes of real frames, in both search
// modes: it must be a faster route to the same answer, not another answer.
func TestFindPatternsAsGozxing(t *testing.T) {
	compareFinders(t, loadFolder(t, "testdata/camera", ".jpg", "the committed frames are missing"))
}

// TestFindPatternsAsGozxingCameraSet does the same on every frame of the camera set, whose
// moiré and text give the row scan its most varied runs.
func TestFindPatternsAsGozxingCameraSet(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: six binarizations and twelve searches of each of 56 frames")
	}
	compareFinders(t, loadCameraSet(t))
}

func compareFinders(t *testing.T, frames []labelledImage) {
	t.Helper()
	compared := 0
	for _, f := range frames {
		var gray plane
		gray.setGray(f.img)
		for _, inverted := range []bool{false, true} {
			for _, b := range []binarizer{hybrid, global, adaptive} {
				m, err := binarize(b, &gray, inverted, nil)
				if err != nil {
					continue
				}
				for _, tryHarder := range []bool{false, true} {
					hints := map[gozxing.DecodeHintType]any{}
					if tryHarder {
						hints[gozxing.DecodeHintType_TRY_HARDER] = true
					}
					want, wantErr := detector.NewFinderPatternFinder(m, nil).Find(hints)
					got, gotErr := findPatterns(m, tryHarder)
					if (wantErr == nil) != (gotErr == nil) {
						t.Fatalf("%s/%s: findPatterns error %v, gozxing's %v", f.name, b, gotErr, wantErr)
					}
					if wantErr != nil {
						continue
					}
					compared++
					for i, pair := range [][2]*detector.FinderPattern{
						{got.GetTopLeft(), want.GetTopLeft()},
						{got.GetTopRight(), want.GetTopRight()},
						{got.GetBottomLeft(), want.GetBottomLeft()},
					} {
						g, w := pair[0], pair[1]
						if g.GetX() != w.GetX() || g.GetY() != w.GetY() || g.GetEstimatedModuleSize() != w.GetEstimatedModuleSize() {
							t.Errorf("%s/%s: pattern %d at (%v, %v), gozxing's at (%v, %v)", f.name, b, i, g.GetX(), g.GetY(), w.GetX(), w.GetY())
						}
					}
				}
			}
		}
	}
	if compared == 0 {
		t.Fatal("no frame had finder patterns to compare")
	}
	t.Logf("%d searches compared", compared)
}

package reader

import (
	"bytes"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is the shared corpus of photographed and scanned codes, beside the project root.
// A fresh clone does not have it; tests and benchmarks that need it skip.
const corpusDir = "../../../../shared/corpus/qr"

// minCorpusScore is how many corpus images must decode byte-exact. zbarimg reads 37 of 42,
// ZXingReader 38.
const minCorpusScore = 40

// labelledImage is a test image and the exact payload of its code; want is nil for an image
// that holds no code.
type labelledImage struct {
	name string
	img  image.Image
	want []byte
}

func loadCorpus(tb testing.TB) []labelledImage {
	tb.Helper()
	return loadFolder(tb, corpusDir, ".png", "the shared corpus is not beside this clone")
}

// loadFolder loads every NAME+ext file of dir in name order, with NAME.txt as its payload when
// there is one. It skips the test when dir has no such file, saying why, and fails then under
// OOB_E2E=1, as a missing tool does.
func loadFolder(tb testing.TB, dir, ext, why string) []labelledImage {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		if os.Getenv("OOB_E2E") == "1" {
			tb.Fatalf("no %s images in %s: %s (make test makes them)", ext, dir, why)
		}
		tb.Skipf("no %s images in %s: %s", ext, dir, why)
	}
	sort.Strings(paths)
	var out []labelledImage
	for _, p := range paths {
		want, err := os.ReadFile(strings.TrimSuffix(p, ext) + ".txt")
		if err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		out = append(out, labelledImage{strings.TrimSuffix(filepath.Base(p), ext), loadImage(tb, p), want})
	}
	return out
}

// loadImage decodes the PNG or JPEG file at path.
func loadImage(tb testing.TB, path string) image.Image {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return img
}

func TestCorpus(t *testing.T) {
	images := loadCorpus(t)
	ok := 0
	var failed []string
	for _, c := range images {
		var how string
		d := Decoder{trace: func(a string) { how = a }}
		res, err := d.Decode(c.img)
		switch {
		case err != nil:
			failed = append(failed, c.name+": "+err.Error())
		case !containsText(res, c.want):
			failed = append(failed, c.name+": decoded "+quoteResults(res))
		default:
			ok++
			t.Logf("%s: read by %s", c.name, how)
		}
	}
	for _, f := range failed {
		t.Logf("failed %s", f)
	}
	t.Logf("corpus: %d/%d decoded byte-exact", ok, len(images))
	if ok < minCorpusScore {
		t.Errorf("corpus: %d/%d decoded byte-exact, want at least %d", ok, len(images), minCorpusScore)
	}
}

func containsText(res []Result, want []byte) bool {
	for _, r := range res {
		if r.Text == string(want) && bytes.Equal(r.Bytes, want) {
			return true
		}
	}
	return false
}

func quoteResults(res []Result) string {
	var s []string
	for _, r := range res {
		s = append(s, strconv.Quote(r.Text))
	}
	return strings.Join(s, ", ")
}

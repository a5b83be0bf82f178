package reader

import (
	"bytes"
	"image"
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

type corpusImage struct {
	name string
	img  image.Image
	want []byte
}

func loadCorpus(tb testing.TB) []corpusImage {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*.png"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(paths) == 0 {
		tb.Skipf("corpus %s is absent", corpusDir)
	}
	sort.Strings(paths)
	var out []corpusImage
	for _, p := range paths {
		want, err := os.ReadFile(strings.TrimSuffix(p, ".png") + ".txt")
		if err != nil {
			tb.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		out = append(out, corpusImage{strings.TrimSuffix(filepath.Base(p), ".png"), img, want})
	}
	return out
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

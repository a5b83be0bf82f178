// Command decodetime times pkg/qr/reader in process on a folder of images: each NAME.png or
// NAME.jpg with a NAME.txt is loaded once, then decoded several times with one Decoder; it
// prints how many decoded byte-exact and the median time of one decode (image loading not
// counted), for scripts/bench-decode.sh.
//
// Usage: go run ./scripts/decodetime [-effort thorough|fast] [-runs N] DIR
//
// Output, one line: "CORRECT TOTAL MEDIAN_MS".
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/imagefile"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

func main() {
	effort := flag.String("effort", "thorough", "thorough (stills, what companion decode does) or fast (live frames)")
	runs := flag.Int("runs", 3, "decodes of each image; the median of all is reported")
	flag.Parse()
	if flag.NArg() != 1 || *runs < 1 || (*effort != "thorough" && *effort != "fast") {
		flag.Usage()
		os.Exit(2)
	}
	d := reader.Decoder{Effort: reader.Thorough}
	if *effort == "fast" {
		d.Effort = reader.Fast
	}
	ok, total, median, err := run(&d, flag.Arg(0), *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "decodetime:", err)
		os.Exit(1)
	}
	fmt.Printf("%d %d %.1f\n", ok, total, median.Seconds()*1000)
}

func run(d *reader.Decoder, dir string, runs int) (ok, total int, median time.Duration, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return 0, 0, 0, err
	}
	var times []time.Duration
	for _, p := range paths {
		ext := filepath.Ext(p)
		if ext != ".png" && ext != ".jpg" {
			continue
		}
		want, err := os.ReadFile(strings.TrimSuffix(p, ext) + ".txt")
		if os.IsNotExist(err) {
			continue // no code in this frame: not scored
		} else if err != nil {
			return 0, 0, 0, err
		}
		img, err := load(p)
		if err != nil {
			return 0, 0, 0, err
		}
		total++
		var res []reader.Result
		for range runs {
			t0 := time.Now()
			res, _ = d.Decode(img)
			times = append(times, time.Since(t0))
		}
		if slices.ContainsFunc(res, func(r reader.Result) bool { return bytes.Equal(r.Bytes, want) }) {
			ok++
		}
	}
	if total == 0 {
		return 0, 0, 0, fmt.Errorf("no NAME.png or NAME.jpg with a NAME.txt in %s", dir)
	}
	slices.Sort(times)
	n := len(times)
	median = (times[(n-1)/2] + times[n/2]) / 2
	return ok, total, median, nil
}

func load(path string) (image.Image, error) {
	return imagefile.Open(context.Background(), path)
}

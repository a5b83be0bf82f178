// Command decodetime times pkg/qr/reader in process on a folder of images: each NAME.png or
// NAME.jpg with a NAME.txt is loaded once, then decoded several times with one Decoder; it
// prints how many decoded byte-exact and the distribution of the time of one decode over the
// images (each image's median; image loading not counted), for scripts/bench-decode.sh.
//
// With -nocode it times the images without a NAME.txt instead (frames holding no code), and
// CORRECT counts those that read as no code.
//
// Usage: go run ./scripts/decodetime [-effort thorough|fast] [-runs N] [-nocode] DIR
//
// Output, one line: "CORRECT TOTAL MEDIAN_MS P90_MS MAX_MS", the 90th percentile by nearest
// rank.
package main

import (
	"bytes"
	"context"
	"errors"
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
	runs := flag.Int("runs", 3, "decodes of each image; its median is its time")
	nocode := flag.Bool("nocode", false, "time the images without a NAME.txt (no code) instead")
	flag.Parse()
	if flag.NArg() != 1 || *runs < 1 || (*effort != "thorough" && *effort != "fast") {
		flag.Usage()
		os.Exit(2)
	}
	d := reader.Decoder{Effort: reader.Thorough}
	if *effort == "fast" {
		d.Effort = reader.Fast
	}
	ok, total, times, err := run(&d, flag.Arg(0), *runs, *nocode)
	if err != nil {
		fmt.Fprintln(os.Stderr, "decodetime:", err)
		os.Exit(1)
	}
	slices.Sort(times)
	n := len(times)
	ms := func(t time.Duration) float64 { return t.Seconds() * 1000 }
	fmt.Printf("%d %d %.1f %.1f %.1f\n", ok, total, ms(median(times)), ms(times[(9*n+9)/10-1]), ms(times[n-1]))
}

// median of sorted times.
func median(times []time.Duration) time.Duration {
	n := len(times)
	return (times[(n-1)/2] + times[n/2]) / 2
}

// run decodes each image of dir runs times and returns each image's median time: the images
// with a NAME.txt, or with nocode those without.
func run(d *reader.Decoder, dir string, runs int, nocode bool) (ok, total int, times []time.Duration, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return 0, 0, nil, err
	}
	for _, p := range paths {
		ext := filepath.Ext(p)
		if ext != ".png" && ext != ".jpg" {
			continue
		}
		want, err := os.ReadFile(strings.TrimSuffix(p, ext) + ".txt")
		if err != nil && !os.IsNotExist(err) {
			return 0, 0, nil, err
		}
		if (want == nil) != nocode {
			continue
		}
		img, err := load(p)
		if err != nil {
			return 0, 0, nil, err
		}
		total++
		var res []reader.Result
		var derr error
		each := make([]time.Duration, runs)
		for i := range each {
			t0 := time.Now()
			res, derr = d.Decode(img)
			each[i] = time.Since(t0)
		}
		slices.Sort(each)
		times = append(times, median(each))
		switch {
		case nocode && errors.Is(derr, reader.ErrNotFound):
			ok++
		case !nocode && slices.ContainsFunc(res, func(r reader.Result) bool { return bytes.Equal(r.Bytes, want) }):
			ok++
		}
	}
	if total == 0 && nocode {
		return 0, 0, nil, fmt.Errorf("no NAME.png or NAME.jpg without a NAME.txt in %s", dir)
	}
	if total == 0 {
		return 0, 0, nil, fmt.Errorf("no NAME.png or NAME.jpg with a NAME.txt in %s", dir)
	}
	return ok, total, times, nil
}

func load(path string) (image.Image, error) {
	return imagefile.Open(context.Background(), path)
}

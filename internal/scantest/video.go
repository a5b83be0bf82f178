package scantest

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
)

// Video makes a video of segments at fps frames a second, Width×Height, and returns its path
// in a folder of the test's own. Each segment lasts its Duration rounded to whole frames (at
// least one), so the video has exactly Count(segments, fps) frames. It is H.264 in MP4 when
// ffmpeg has libx264, else MJPEG in AVI. The test is skipped when ffmpeg is not installed,
// unless OOB_E2E is set (qrtest.Tool).
func Video(tb testing.TB, segments []Segment, fps int) string {
	tb.Helper()
	ffmpeg := qrtest.Tool(tb, "ffmpeg", "ffmpeg")
	dir := tb.TempDir()
	pics := render(tb, dir, segments)
	// The concat demuxer shows each picture for its segment's time, so each distinct picture
	// is drawn and decoded once, however long the video.
	var list strings.Builder
	list.WriteString("ffconcat version 1.0\n")
	for i, s := range segments {
		fmt.Fprintf(&list, "file '%s'\nduration %s\n", filepath.Base(pics[i]), strconv.FormatFloat(float64(frames(s, fps))/float64(fps), 'f', -1, 64))
	}
	// The demuxer ignores the last entry's duration unless the entry follows it once more.
	if len(segments) > 0 {
		fmt.Fprintf(&list, "file '%s'\n", filepath.Base(pics[len(pics)-1]))
	}
	listPath := filepath.Join(dir, "segments.ffconcat")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(dir, "scan.avi")
	codec := []string{"-c:v", "mjpeg", "-q:v", "3", "-pix_fmt", "yuvj420p"}
	if hasEncoder(tb, ffmpeg, "libx264") {
		out = filepath.Join(dir, "scan.mp4")
		codec = []string{"-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-pix_fmt", "yuv420p"}
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", listPath,
		"-vf", fmt.Sprintf("fps=%d", fps), "-frames:v", strconv.Itoa(Count(segments, fps))}
	args = append(append(args, codec...), "-an", "-y", out)
	cmd := exec.Command(ffmpeg, args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out
}

// Frames writes segments as numbered pictures, fps to a second of each segment, into a folder
// of the test's own and returns the folder: frame-00001.png, frame-00002.png… in order, for
// camera.OpenDir. (OpenDir places its images a second apart, however many there are.)
func Frames(tb testing.TB, segments []Segment, fps int) string {
	tb.Helper()
	pics := render(tb, tb.TempDir(), segments)
	dir := tb.TempDir()
	n := 0
	for i, s := range segments {
		for range frames(s, fps) {
			n++
			name := filepath.Join(dir, fmt.Sprintf("frame-%05d.png", n))
			if err := os.Link(pics[i], name); err != nil {
				b, rerr := os.ReadFile(pics[i])
				if rerr != nil {
					tb.Fatal(rerr)
				}
				if err := os.WriteFile(name, b, 0o644); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	return dir
}

// Count is how many frames Video and Frames make of segments at fps.
func Count(segments []Segment, fps int) int {
	n := 0
	for _, s := range segments {
		n += frames(s, fps)
	}
	return n
}

// frames is how many frames s lasts at fps: its duration rounded, and at least one.
func frames(s Segment, fps int) int {
	return max(1, int(math.Round(s.Duration.Seconds()*float64(fps))))
}

// render writes each distinct picture of segments into dir once and returns, for each segment,
// its picture's path.
func render(tb testing.TB, dir string, segments []Segment) []string {
	tb.Helper()
	type look struct {
		text  string
		plain bool
	}
	files := map[look]string{}
	paths := make([]string, len(segments))
	for i, s := range segments {
		k := look{s.Text, s.Plain && s.Text != ""}
		p, ok := files[k]
		if !ok {
			p = filepath.Join(dir, fmt.Sprintf("picture-%03d.png", len(files)))
			writePNG(tb, p, Picture(tb, s))
			files[k] = p
		}
		paths[i] = p
	}
	return paths
}

var (
	encodersMu sync.Mutex
	encoders   = map[string]string{} // ffmpeg's path → what `ffmpeg -encoders` printed
)

// hasEncoder reports whether the ffmpeg at path has the video encoder name.
func hasEncoder(tb testing.TB, ffmpeg, name string) bool {
	tb.Helper()
	encodersMu.Lock()
	defer encodersMu.Unlock()
	list, ok := encoders[ffmpeg]
	if !ok {
		out, err := exec.Command(ffmpeg, "-hide_banner", "-encoders").Output()
		if err != nil {
			tb.Fatalf("ffmpeg -encoders: %v", err)
		}
		list = string(out)
		encoders[ffmpeg] = list
	}
	return regexp.MustCompile(`(?m)^\s*V\S*\s+` + regexp.QuoteMeta(name) + `\s`).MatchString(list)
}

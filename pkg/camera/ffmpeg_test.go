package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

const (
	videoFrames = 15 // frames in the test video
	codeFrom    = 6  // frames codeFrom…codeTo show the code
	codeTo      = 10
	codeText    = "OOB1 camera test: frame with a code"
)

// makeVideo has ffmpeg make a 640×480, 10 frames a second video from numbered PNG frames: blank
// frames of rising brightness, then the code, then blank again.
func makeVideo(t *testing.T) string {
	t.Helper()
	ffmpeg := qrtest.Tool(t, "ffmpeg", "ffmpeg")
	dir := t.TempDir()
	for i := 1; i <= videoFrames; i++ {
		img := blank(640, 480, byte(40+i*10))
		if i >= codeFrom && i <= codeTo {
			img = frameWithCode(t, 640, 480, codeText, 150, 70, 8)
		}
		writePNG(t, filepath.Join(dir, fmt.Sprintf("f%03d.png", i)), img)
	}
	video := filepath.Join(dir, "line.mp4")
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-framerate", "10",
		"-i", filepath.Join(dir, "f%03d.png"), "-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p", video).CombinedOutput()
	if err != nil {
		t.Fatalf("making the test video: %v\n%s", err, out)
	}
	return video
}

// A video is read back whole, every frame at its own size, in order, and the code drawn in
// some of its frames reads in exactly those frames.
func TestVideoFrames(t *testing.T) {
	video := makeVideo(t)
	src, err := OpenVideo(context.Background(), video, FFmpegConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if w, h := src.Size(); w != 640 || h != 480 {
		t.Fatalf("Size = %dx%d, want the video's 640x480", w, h)
	}
	dec := reader.Decoder{Effort: reader.Fast}
	frames := readAll(t, src)
	for i, f := range frames {
		n := i + 1
		g, ok := f.Image.(*image.Gray)
		if !ok || g.Bounds() != image.Rect(0, 0, 640, 480) || f.Seq != n {
			t.Fatalf("frame %d: %T %v seq %d", n, f.Image, f.Image.Bounds(), f.Seq)
		}
		res, err := dec.Decode(g)
		shows := n >= codeFrom && n <= codeTo
		switch {
		case shows && (err != nil || res[0].Text != codeText):
			t.Errorf("frame %d should show the code: %v %v", n, res, err)
		case !shows && err == nil:
			t.Errorf("frame %d shows no code, but read %q", n, res[0].Text)
		}
	}
	n := len(frames)
	if n != videoFrames {
		t.Errorf("read %d frames, want %d", n, videoFrames)
	}
	// At is the video's own time, 100 ms a frame at 10 frames a second, however fast it was read.
	for i, f := range frames {
		if want := time.Duration(i) * 100 * time.Millisecond; f.At != want {
			t.Errorf("frame %d: At = %v, want %v", i+1, f.At, want)
		}
	}
	if _, err := src.Next(context.Background()); err != io.EOF {
		t.Errorf("after the end: %v, want io.EOF again", err)
	}
}

// readAll reads src to its end.
func readAll(t *testing.T, src Source) []Frame {
	t.Helper()
	var frames []Frame
	for {
		f, err := src.Next(context.Background())
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(frames)+1, err)
		}
		frames = append(frames, f)
	}
}

// Asked for a size and a rate, ffmpeg scales and resamples: half the size, half the frames.
func TestVideoScaledAndResampled(t *testing.T) {
	video := makeVideo(t)
	src, err := OpenVideo(context.Background(), video, FFmpegConfig{Width: 320, Height: 240, FPS: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	frames := readAll(t, src)
	for _, f := range frames {
		if b := f.Image.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
			t.Fatalf("frame %d is %v, want 320x240", f.Seq, b)
		}
	}
	if len(frames) > 1 && frames[1].At != 200*time.Millisecond {
		t.Errorf("second frame at 5 fps: At = %v, want 200ms", frames[1].At)
	}
	n := len(frames)
	// 1.5 s at 5 frames a second; ffmpeg's fps filter may round the last one either way.
	if n < 7 || n > 8 {
		t.Errorf("read %d frames at 5 fps, want 7 or 8", n)
	}
}

// What ffmpeg says when it cannot read its input reaches the user.
func TestFFmpegFailureShowsItsWords(t *testing.T) {
	qrtest.Tool(t, "ffmpeg", "ffmpeg")
	notVideo := filepath.Join(t.TempDir(), "notes.mp4")
	if err := os.WriteFile(notVideo, []byte("these are not frames"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenVideo(context.Background(), notVideo, FFmpegConfig{})
	var fe *FFmpegError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "Invalid data found") {
		t.Errorf("a file that is no video: %v, want an *FFmpegError with ffmpeg's message", err)
	}
	_, err = OpenFFmpeg(context.Background(), FFmpegConfig{Input: []string{"-f", "nosuchformat", "-i", "x"}})
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "nosuchformat") {
		t.Errorf("an unknown input format: %v", err)
	}
	_, err = OpenFFmpeg(context.Background(), FFmpegConfig{Input: []string{"-i", "x"}, Program: "no-such-ffmpeg"})
	if err == nil || !strings.Contains(err.Error(), "install ffmpeg") {
		t.Errorf("no ffmpeg: %v", err)
	}
	if _, err := OpenVideo(context.Background(), filepath.Join(t.TempDir(), "missing.mp4"), FFmpegConfig{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing video: %v", err)
	}
}

// liveInput is an endless real-time input: the picture with a code, at rate frames a second.
func liveInput(t *testing.T, rate int) []string {
	t.Helper()
	qrtest.Tool(t, "ffmpeg", "ffmpeg")
	still := filepath.Join(t.TempDir(), "screen.png")
	writePNG(t, still, frameWithCode(t, 320, 240, "live", 40, 20, 4))
	return []string{"-re", "-loop", "1", "-framerate", fmt.Sprint(rate), "-i", still}
}

// A live input behind Latest: a slow consumer gets fresh frames, and the ones it missed are
// counted. Close kills ffmpeg.
func TestLiveFFmpegDropsStaleFrames(t *testing.T) {
	ff, err := OpenFFmpeg(context.Background(), FFmpegConfig{Input: liveInput(t, 50)})
	if err != nil {
		t.Fatal(err)
	}
	src := NewLatest(ff)
	defer src.Close()
	ctx := context.Background()
	var seqs []int
	for range 4 {
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, f.Seq)
		time.Sleep(100 * time.Millisecond) // a slow decode: five frames arrive meanwhile
	}
	skipped := 0
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("frames out of order: %v", seqs)
		}
		skipped += seqs[i] - seqs[i-1] - 1
	}
	if skipped < 6 {
		t.Errorf("frames %v: a consumer 5 frames behind skipped only %d", seqs, skipped)
	}
	if d := src.Dropped(); d < skipped {
		t.Errorf("Dropped = %d, but %d frames were skipped", d, skipped)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if ff.cmd.ProcessState == nil {
		t.Error("ffmpeg still runs after Close")
	}
	if _, err := src.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}
}

// A Next waiting on a slow live input gives up when its context ends.
func TestFFmpegNextHonoursContext(t *testing.T) {
	ff, err := OpenFFmpeg(context.Background(), FFmpegConfig{Input: liveInput(t, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	if _, err := ff.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := ff.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want the deadline", err)
	}
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Errorf("Next took %v to notice its deadline", d)
	}
}

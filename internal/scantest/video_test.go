package scantest

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/qr/reader"
)

// segmentsOf is a video of every kind of picture: a device's screen in both formats, a plain
// foreign code, damaged codes and nothing.
func segmentsOf(tb testing.TB) []Segment {
	devs := Labelled(tb, "", "line 3, bay 12")
	return []Segment{
		{Duration: 300 * time.Millisecond},
		{Text: Payload(tb, devs[0], identity.FormatV1), Duration: time.Second},
		{Text: Foreign, Plain: true, Duration: 500 * time.Millisecond},
		{Text: Payload(tb, devs[1], identity.FormatV1), Duration: 700 * time.Millisecond},
		{Text: Truncated(tb, devs[0]), Duration: 400 * time.Millisecond},
		{Text: Tampered(tb, devs[1]), Duration: 400 * time.Millisecond},
		{Text: FromNewerAgent(tb, devs[1]), Duration: 400 * time.Millisecond},
		{Text: Payload(tb, devs[0], identity.FormatLegacy), Duration: 600 * time.Millisecond},
		{Duration: 200 * time.Millisecond},
	}
}

// want is the text each frame shows, in order.
func want(segments []Segment, fps int) []string {
	var texts []string
	for _, s := range segments {
		for range frames(s, fps) {
			texts = append(texts, s.Text)
		}
	}
	return texts
}

// Every frame of the video shows its segment's code, readable by the scan's decoder, and the
// video has exactly the frames asked for, in order.
func TestVideo(t *testing.T) {
	segs := segmentsOf(t)
	const fps = 10
	start := time.Now()
	path := Video(t, segs, fps)
	t.Logf("made a %d-frame video in %v", Count(segs, fps), time.Since(start))
	src, err := camera.OpenVideo(t.Context(), path, camera.FFmpegConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	checkFrames(t, src, want(segs, fps), time.Second/fps)
}

// The numbered pictures are the video's frames, each segment's code on them.
func TestFrames(t *testing.T) {
	segs := segmentsOf(t)
	src, err := camera.OpenDir(Frames(t, segs, 5))
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != Count(segs, 5) {
		t.Errorf("%d pictures, want %d", src.Len(), Count(segs, 5))
	}
	checkFrames(t, src, want(segs, 5), time.Second)
}

func checkFrames(t *testing.T, src camera.Source, texts []string, step time.Duration) {
	t.Helper()
	dec := reader.Decoder{Effort: reader.Fast}
	n := 0
	for {
		f, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Image.Bounds().Dx() != Width || f.Image.Bounds().Dy() != Height {
			t.Fatalf("frame %d is %v, want %d×%d", f.Seq, f.Image.Bounds(), Width, Height)
		}
		// A video's frame times are computed from its rate in floating point: a nanosecond off.
		if d := f.At - time.Duration(n)*step; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("frame %d is at %v, want %v", f.Seq, f.At, time.Duration(n)*step)
		}
		if n >= len(texts) {
			n++
			continue
		}
		results, err := dec.Decode(f.Image)
		if err != nil && !errors.Is(err, reader.ErrNotFound) {
			t.Fatal(err)
		}
		var got []string
		for _, r := range results {
			got = append(got, r.Text)
		}
		var wantCodes []string
		if texts[n] != "" {
			wantCodes = []string{texts[n]}
		}
		if !slices.Equal(got, wantCodes) {
			t.Errorf("frame %d reads %.40q, want %.40q", f.Seq, got, wantCodes)
		}
		n++
	}
	if n != len(texts) {
		t.Errorf("%d frames, want %d", n, len(texts))
	}
}

package camera

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Config names one frame source, as the companion's flags do, and the mode to ask it for.
type Config struct {
	// Camera is a V4L2 device file (Linux).
	Camera string
	// FFmpegInput is ffmpeg's input arguments for a live input, e.g. a camera on macOS or
	// Windows (see SplitArgs for a flag's text).
	FFmpegInput []string
	// Video is a video file, read through ffmpeg.
	Video string
	// Images is a folder of PNG and JPEG files, read in name order.
	Images string
	// Files are image files, read in the order given.
	Files []string
	// Want is the camera's mode. Its size and rate also apply to ffmpeg's output (zero: the
	// input's own); its format only to Camera.
	Want Want
	// FFmpeg is the ffmpeg executable; empty means "ffmpeg" on PATH.
	FFmpeg string
}

// ErrNoSource means Config names no source, or more than one.
var ErrNoSource = errors.New("camera: give exactly one source: a camera, an ffmpeg input, a video, an image folder or image files")

// Open opens the source cfg names. Live sources (a camera, an ffmpeg input) come wrapped in
// Latest, so they hand over only the newest frame and count the others as dropped; videos and
// images are read at the consumer's pace, every frame, and end with io.EOF.
func Open(ctx context.Context, cfg Config) (Source, error) {
	n := 0
	for _, set := range []bool{cfg.Camera != "", len(cfg.FFmpegInput) > 0, cfg.Video != "", cfg.Images != "", len(cfg.Files) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, ErrNoSource
	}
	ff := FFmpegConfig{Input: cfg.FFmpegInput, Width: cfg.Want.Width, Height: cfg.Want.Height, FPS: cfg.Want.FPS, Program: cfg.FFmpeg}
	switch {
	case cfg.Camera != "":
		w, err := OpenWebcam(ctx, WebcamConfig{Device: cfg.Camera, Want: cfg.Want})
		if err != nil {
			return nil, err
		}
		return NewLatest(w), nil
	case len(cfg.FFmpegInput) > 0:
		f, err := OpenFFmpeg(ctx, ff)
		if err != nil {
			return nil, err
		}
		return NewLatest(f), nil
	case cfg.Video != "":
		return OpenVideo(ctx, cfg.Video, ff)
	case cfg.Images != "":
		return OpenDir(cfg.Images)
	}
	return OpenFiles(cfg.Files...)
}

// SplitArgs splits a flag's text into arguments for ffmpeg: words are separated by spaces, and
// '…' or "…" keep spaces within one (-f dshow -i "video=USB Camera"). A backslash is an
// ordinary character, so Windows paths need no doubling.
func SplitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("camera: unmatched %c in %q", quote, s)
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}

package camera

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/pkg/imagefile"
)

// An MJPEG frame whose header claims more than the reader takes is refused from its header,
// before the decoder allocates for it.
func TestMJPEGFrameTooLarge(t *testing.T) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, blank(16, 16, 100), nil); err != nil {
		t.Fatal(err)
	}
	buf := b.Bytes()
	// The baseline frame header: FF C0, length, precision, then height and width.
	sof := bytes.Index(buf, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("no SOF0 in the encoded JPEG")
	}
	copy(buf[sof+5:], []byte{0xea, 0x60, 0xea, 0x60}) // 60000×60000
	if _, err := mjpegImage(buf); !errors.Is(err, imagefile.ErrTooLarge) || !strings.Contains(err.Error(), "60000×60000") {
		t.Errorf("mjpegImage = %v, want ErrTooLarge naming 60000×60000", err)
	}
}

// ffmpeg asked to deliver frames larger than the reader takes is stopped when it reports their
// size, before the first frame is read.
func TestFFmpegFramesTooLarge(t *testing.T) {
	qrtest.Tool(t, "ffmpeg", "ffmpeg")
	_, err := OpenFFmpeg(context.Background(), FFmpegConfig{Input: []string{"-f", "lavfi", "-i", "color=c=gray:s=9000x9000:r=1"}})
	if !errors.Is(err, imagefile.ErrTooLarge) || !strings.Contains(err.Error(), "9000×9000") {
		t.Errorf("OpenFFmpeg of 9000×9000 frames = %v, want ErrTooLarge", err)
	}
}

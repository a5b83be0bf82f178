package camera

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oobtpm/oob/pkg/imagefile"
)

// FFmpegConfig says what ffmpeg reads and the frames it hands over.
type FFmpegConfig struct {
	// Input is ffmpeg's input: its input options and -i, e.g. -f avfoundation -framerate 30
	// -i 0 (macOS), -f dshow -i "video=USB Camera" (Windows), or -i clip.mp4. A device's frame
	// rate and size are input options too (-framerate, -video_size).
	Input []string
	// Width and Height scale every frame to this size; both zero keep the input's size.
	Width, Height int
	// FPS, when positive, resamples the output to this many frames a second.
	FPS float64
	// Program is the ffmpeg executable; empty means "ffmpeg" on PATH.
	Program string
}

// FFmpeg is a Source reading 8-bit gray frames from an ffmpeg process's standard output. A
// video is read at the consumer's pace (ffmpeg waits while the pipe is full), so none of its
// frames are dropped; wrap a live input in Latest.
type FFmpeg struct {
	cmd    *exec.Cmd
	stdout *os.File
	stderr *stderrLog
	w, h   int
	seq    int
	broken error
	now    func() time.Time
	// video: At is the frame's time in the video, from its rate (rate: cfg.FPS, else what
	// ffmpeg reports for its output); otherwise the time since the first frame.
	video bool
	rate  float64
	first time.Time

	closeOnce sync.Once
}

// OpenVideo starts ffmpeg on a video file, with cfg's size and rate (cfg.Input is ignored).
func OpenVideo(ctx context.Context, path string, cfg FFmpegConfig) (*FFmpeg, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("camera: video: %w", err)
	}
	cfg.Input = []string{"-i", path}
	f, err := OpenFFmpeg(ctx, cfg)
	if err != nil {
		return nil, err
	}
	f.video = true
	return f, nil
}

// OpenFFmpeg starts ffmpeg with cfg and waits until it has opened its input and said the
// frames' size. On failure the error carries what ffmpeg said.
func OpenFFmpeg(ctx context.Context, cfg FFmpegConfig) (*FFmpeg, error) {
	if len(cfg.Input) == 0 {
		return nil, errors.New("camera: no ffmpeg input given: e.g. -f avfoundation -i 0, or -i video.mp4")
	}
	if (cfg.Width > 0) != (cfg.Height > 0) || cfg.Width < 0 || cfg.Height < 0 {
		return nil, fmt.Errorf("camera: frame size %dx%d: give both width and height, or neither", cfg.Width, cfg.Height)
	}
	prog := cfg.Program
	if prog == "" {
		prog = "ffmpeg"
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return nil, fmt.Errorf("camera: %s is not installed or not on PATH: install ffmpeg (Debian: apt install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg): %w", prog, err)
	}
	cmd := exec.Command(path, ffmpegArgs(cfg)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("camera: %w", err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("camera: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("camera: start ffmpeg: %w", err)
	}
	f := &FFmpeg{cmd: cmd, stdout: stdout.(*os.File), stderr: newStderrLog(errPipe), w: cfg.Width, h: cfg.Height, rate: cfg.FPS, now: time.Now}
	if f.w == 0 {
		// ffmpeg reports the output stream's size before the first frame; waiting for it also
		// turns a camera or file that cannot be opened into an error here rather than at Next.
		select {
		case <-f.stderr.sized:
			f.w, f.h = f.stderr.size()
			if err := imagefile.CheckSize(f.w, f.h); err != nil {
				_ = f.Close()
				return nil, fmt.Errorf("camera: ffmpeg's frames: %w (ask for a smaller frame size)", err)
			}
		case <-f.stderr.done:
			_ = f.Close()
			return nil, f.failure(errors.New("it stopped before delivering a frame"))
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		}
	}
	return f, nil
}

// ffmpegArgs is ffmpeg's command line: quiet except for the stream report, no audio or
// subtitles, gray raw frames on standard output.
func ffmpegArgs(cfg FFmpegConfig) []string {
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"}
	args = append(args, cfg.Input...)
	var filters []string
	if cfg.FPS > 0 {
		filters = append(filters, "fps="+strconv.FormatFloat(cfg.FPS, 'f', -1, 64))
	}
	if cfg.Width > 0 {
		filters = append(filters, fmt.Sprintf("scale=%d:%d", cfg.Width, cfg.Height))
	}
	args = append(args, "-an", "-sn", "-dn")
	if len(filters) > 0 {
		args = append(args, "-vf", strings.Join(filters, ","))
	}
	return append(args, "-pix_fmt", "gray", "-f", "rawvideo", "pipe:1")
}

// Size is the frames' width and height.
func (f *FFmpeg) Size() (width, height int) { return f.w, f.h }

// Next reads the next frame. It returns io.EOF when ffmpeg has finished its input cleanly, and
// an error carrying ffmpeg's last words when ffmpeg failed. A frame cut short by ctx leaves the
// stream out of step: Next then keeps failing, and the source must be closed.
func (f *FFmpeg) Next(ctx context.Context) (Frame, error) {
	if f.broken != nil {
		return Frame{}, f.broken
	}
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	img := image.NewGray(image.Rect(0, 0, f.w, f.h))
	// A pipe's read deadline is how a blocked read yields to ctx (where the system allows it;
	// elsewhere Close still ends the read).
	stop := context.AfterFunc(ctx, func() { _ = f.stdout.SetReadDeadline(time.Now()) })
	n, err := io.ReadFull(f.stdout, img.Pix)
	stop()
	switch {
	case err == nil:
		f.seq++
		return Frame{Image: img, Time: f.now(), At: f.at(), Seq: f.seq, Name: "ffmpeg"}, nil
	case ctx.Err() != nil:
		if n > 0 {
			f.broken = fmt.Errorf("camera: ffmpeg frame interrupted part way: %w", ctx.Err())
		}
		_ = f.stdout.SetReadDeadline(time.Time{})
		return Frame{}, ctx.Err()
	case err == io.EOF:
		f.broken = f.finish()
	default:
		f.broken = f.failure(fmt.Errorf("frame %d cut short after %d of %d bytes", f.seq+1, n, len(img.Pix)))
	}
	return Frame{}, f.broken
}

// at is the place in the stream of the frame just read (Frame.At).
func (f *FFmpeg) at() time.Duration {
	now := f.now()
	if f.seq == 1 {
		f.first = now
		if f.rate == 0 {
			f.rate = f.stderr.rate()
		}
	}
	if f.video && f.rate > 0 {
		return time.Duration(math.Round(float64(f.seq-1) * float64(time.Second) / f.rate))
	}
	return now.Sub(f.first)
}

// finish waits for ffmpeg after the end of its output: io.EOF when it succeeded.
func (f *FFmpeg) finish() error {
	<-f.stderr.done
	if err := f.cmd.Wait(); err != nil {
		return f.failure(err)
	}
	return io.EOF
}

// failure describes ffmpeg's failure with what it printed last.
func (f *FFmpeg) failure(cause error) error {
	select {
	case <-f.stderr.done:
	case <-time.After(2 * time.Second): // ffmpeg still running: say what it said so far
	}
	msg := "ffmpeg failed"
	if cause != nil {
		msg += ": " + cause.Error()
	}
	if tail := f.stderr.tail(); tail != "" {
		msg += "; ffmpeg said:\n" + tail
	}
	return &FFmpegError{msg: msg, Err: cause}
}

// FFmpegError is ffmpeg failing: a bad input, a device it cannot open, a process that died.
type FFmpegError struct {
	msg string
	// Err is the underlying failure, if any (an *exec.ExitError for a non-zero exit).
	Err error
}

func (e *FFmpegError) Error() string { return "camera: " + e.msg }
func (e *FFmpegError) Unwrap() error { return e.Err }

// Close kills ffmpeg if it is still running and waits for it.
func (f *FFmpeg) Close() error {
	f.closeOnce.Do(func() {
		if f.broken == nil {
			f.broken = errors.New("camera: ffmpeg source closed")
		}
		_ = f.cmd.Process.Kill()
		_ = f.stdout.Close()
		<-f.stderr.done
		_ = f.cmd.Wait()
	})
	return nil
}

// stderrLog keeps the end of ffmpeg's standard error and watches it for the output's size.
type stderrLog struct {
	mu     sync.Mutex
	lines  []string
	w, h   int
	sized  chan struct{} // closed when the output size is known
	done   chan struct{} // closed when ffmpeg closed its standard error
	output bool          // the "Output #0" section has begun
	fps    float64       // the output's frame rate, once reported
}

// stderrLines is how much of ffmpeg's standard error an error shows.
const stderrLines = 20

// outputSize finds the frame size in the output stream's line, e.g. "Stream #0:0: Video:
// rawvideo (Y800 / 0x30303859), gray(pc, progressive), 320x240 [SAR 1:1 DAR 4:3], …".
var outputSize = regexp.MustCompile(`Stream #\d+:\d+.*: Video: rawvideo.*?, (\d+)x(\d+)`)

// outputRate finds the frame rate in the same line: "…, 10 fps, 10 tbn" or "29.97 fps".
var outputRate = regexp.MustCompile(`Stream #\d+:\d+.*: Video: rawvideo.*?, (\d+(?:\.\d+)?) fps`)

func newStderrLog(r io.Reader) *stderrLog {
	l := &stderrLog{sized: make(chan struct{}), done: make(chan struct{})}
	go l.read(r)
	return l
}

func (l *stderrLog) read(r io.Reader) {
	defer close(l.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	// ffmpeg ends progress lines with \r; treat it as a line end too.
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := strings.IndexAny(string(data), "\r\n"); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		l.add(line)
	}
	_, _ = io.Copy(io.Discard, r)
}

func (l *stderrLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > stderrLines {
		l.lines = l.lines[len(l.lines)-stderrLines:]
	}
	if strings.HasPrefix(line, "Output #0") {
		l.output = true
	}
	if l.output && l.fps == 0 {
		if m := outputRate.FindStringSubmatch(line); m != nil {
			l.fps, _ = strconv.ParseFloat(m[1], 64)
		}
	}
	if l.output && l.w == 0 {
		if m := outputSize.FindStringSubmatch(line); m != nil {
			w, _ := strconv.Atoi(m[1])
			h, _ := strconv.Atoi(m[2])
			if w > 0 && h > 0 {
				l.w, l.h = w, h
				close(l.sized)
			}
		}
	}
}

func (l *stderrLog) size() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w, l.h
}

// rate is the output's frame rate as ffmpeg reported it; 0 when it has not.
func (l *stderrLog) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fps
}

func (l *stderrLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

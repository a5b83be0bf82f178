package companion

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/journal"
	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/scan"
)

// ScanOptions are the inputs of `companion scan`.
type ScanOptions struct {
	IO      *cli.IOStreams
	Service ServiceFlags
	Format  *cli.FormatFlag

	Camera      string
	FFmpegInput string
	Video       string
	Images      string
	Size        string
	FPS         float64
	PixelFormat string

	Settings    SettingsFlags
	FirstNumber int
	Replace     bool

	Journal string
	Once    bool
	DryRun  bool
	Hold    time.Duration
	Settle  time.Duration
	Bell    bool
}

// NewCmdScan returns `companion scan`. runF replaces the run function in tests.
func NewCmdScan(ios *cli.IOStreams, runF func(context.Context, *ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "scan {--camera DEV | --ffmpeg-input ARGS | --video FILE | --images DIR}",
		Short: "Enroll device after device from a webcam pointed at their screens",
		Long: `Point a webcam at one device's screen after another: each device's identity code is
read, checked and enrolled once, with the settings given (as companion enroll does).
Frames are decoded as fast as the camera delivers them; a frame that went stale while
the decoder was busy is dropped, never queued, so what is reported is what the camera
sees now. A code held in view is one event; a device scanned again later is reported
as already enrolled and nothing changes. Codes that are not device identities are
reported and skipped; damaged or tampered identity codes are reported and refused.

Every device seen and every enrollment is written to the journal (fsynced) before it
is reported, so nothing reported as done is lost to a crash or power cut. When DPS
cannot be reached or keeps throttling, enrollments wait in the journal's queue while
the scan goes on, and are sent in order when DPS answers, by this scan or later by
companion sync. Use companion journal export for the production record.

Sources: a V4L2 webcam (--camera /dev/video0, MJPEG or YUYV, --size and --fps to
choose its mode); any other camera or stream through ffmpeg (--ffmpeg-input, ffmpeg's
input options, e.g. "-f avfoundation -framerate 30 -i 0" on macOS or
"-f dshow -i video=USB Camera" on Windows); a video file (--video); a folder of
PNG/JPEG images in name order (--images); an image in it that cannot be read (empty,
damaged, not a regular file, or more than 8192×8192 pixels by its header, refused
before it is decoded) is reported with its name and why, and skipped. A video or
folder is read frame by frame, and the scan ends when it does, once every enrollment it started is settled (or
--settle-timeout passes, leaving the rest queued for companion sync).

--device-id is a template: {registrationId}, {label} (the label the code carries, or
the registration ID; characters a device ID cannot hold become -), {n} (the device's
running number in this journal, from --first-number) and {n:4} (zero-padded). A
template must tell devices apart: one without a placeholder is refused, and {label}
alone is only safe when no two devices carry the same label.

Each device gets a line (on a terminal, a status line shows frames per second,
devices done and the last result, and the bell rings for each device). --format json
prints one JSON object per event instead: {"kind": "device|sent|foreign|invalid|
unreadable", "outcome": "created|already-enrolled|replaced|updated|conflict|failed|
queued|checked", "registrationId", "deviceId", "number", "known", "error", …}.

Exit status: 0 when every device seen is done; 1 when some failed or are still queued
(run companion sync when DPS is back); 4 when a registration ID is enrolled with
another key (not overwritten unless --replace). Ctrl-C stops the scan; what was not
sent stays queued.
` + serviceHelp,
		Example: `  export DPS_CONNECTION_STRING='HostName=…;SharedAccessKeyName=…;SharedAccessKey=…'
  companion scan --camera /dev/video0 --iot-hub line4.azure-devices.net --tag line=4 \
      --device-id 'line4-{n:4}'
  companion scan --ffmpeg-input '-f avfoundation -framerate 30 -i 0' --once
  companion scan --video shift.mp4 --dry-run --format json
  companion scan --images frames/ --journal /srv/line4/journal.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return scanRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Camera, "camera", "", "read a V4L2 webcam, e.g. /dev/video0 (Linux)")
	f.StringVar(&opts.FFmpegInput, "ffmpeg-input", "", `read a live input through ffmpeg, given as ffmpeg's input options and -i (quote words with spaces)`)
	f.StringVar(&opts.Video, "video", "", "read a video file, every frame, through ffmpeg")
	f.StringVar(&opts.Images, "images", "", "read the PNG and JPEG files of a folder, in name order")
	f.StringVar(&opts.Size, "size", "", "frame size WIDTHxHEIGHT: the camera's mode, or what ffmpeg scales to (default: the camera's size nearest 1280x720; ffmpeg: the input's)")
	f.Float64Var(&opts.FPS, "fps", 0, "frames per second to ask the camera for, or to resample ffmpeg's output to (default: the camera's fastest; ffmpeg: the input's)")
	f.StringVar(&opts.PixelFormat, "pixel-format", "", "the webcam's pixel format: mjpeg or yuyv (default: either)")
	f.StringVar(&opts.Settings.DeviceID, "device-id", "", "IoT Hub device ID template, e.g. 'line4-{n:4}' (default: the registration ID)")
	f.IntVar(&opts.FirstNumber, "first-number", 1, "the running number {n} of the journal's first device")
	opts.Settings.register(f)
	f.BoolVar(&opts.Replace, "replace", false, "overwrite an existing enrollment that holds a different key (otherwise a conflict, exit 4)")
	journalFlag(f, &opts.Journal)
	f.BoolVar(&opts.Once, "once", false, "stop after the first device")
	f.BoolVar(&opts.DryRun, "dry-run", false, "read and check codes, enroll nothing, write no journal (no connection string needed; {n} counts from --first-number, as for a new journal)")
	f.DurationVar(&opts.Hold, "hold", scan.DefaultHold, "a code unread for this long has left the view; shown again, it is a new scan")
	f.DurationVar(&opts.Settle, "settle-timeout", scan.DefaultSettleTimeout, "after a video or folder ends, keep sending queued enrollments for this long")
	f.BoolVar(&opts.Bell, "bell", true, "ring the terminal bell for each device (only on a terminal)")
	f.Var(opts.Format, "format", opts.Format.Usage())
	opts.Service.register(f)
	f.Lookup("timeout").Usage = "give up on one enrollment after this long, retries included; it is then queued"
	f.Lookup("timeout").DefValue = scan.DefaultAttemptTimeout.String()
	opts.Service.Timeout = scan.DefaultAttemptTimeout
	return cmd
}

// source returns the camera configuration the flags name.
func (o *ScanOptions) source() (camera.Config, error) {
	cfg := camera.Config{Camera: o.Camera, Video: o.Video, Images: o.Images}
	if o.FFmpegInput != "" {
		args, err := camera.SplitArgs(o.FFmpegInput)
		if err != nil {
			return cfg, cli.Usagef("--ffmpeg-input: %v", err)
		}
		cfg.FFmpegInput = args
	}
	n := 0
	for _, set := range []bool{o.Camera != "", o.FFmpegInput != "", o.Video != "", o.Images != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return cfg, cli.Usagef("give one frame source: --camera DEV, --ffmpeg-input ARGS, --video FILE or --images DIR")
	}
	if o.Size != "" {
		w, h, ok := strings.Cut(strings.ToLower(o.Size), "x")
		width, err1 := strconv.Atoi(w)
		height, err2 := strconv.Atoi(h)
		if !ok || err1 != nil || err2 != nil || width <= 0 || height <= 0 {
			return cfg, cli.Usagef("--size %q: give WIDTHxHEIGHT, e.g. 1280x720", o.Size)
		}
		cfg.Want.Width, cfg.Want.Height = width, height
	}
	if o.FPS < 0 {
		return cfg, cli.Usagef("--fps must be positive")
	}
	cfg.Want.FPS = o.FPS
	if o.PixelFormat != "" {
		if o.Camera == "" {
			return cfg, cli.Usagef("--pixel-format applies to --camera only")
		}
		pf, err := camera.ParsePixelFormat(o.PixelFormat)
		if err != nil {
			return cfg, cli.Usagef("--pixel-format: %v", err)
		}
		cfg.Want.Format = pf
	}
	return cfg, nil
}

// scanClientRetry is the DPS client's own retry for a scan: short, because an enrollment that
// cannot be sent soon is queued and retried by the scan, which does not hold up the line.
var scanClientRetry = retry.Policy{MaxAttempts: 3, BaseDelay: 500 * time.Millisecond, MaxDelay: 4 * time.Second, MaxRetryAfter: 10 * time.Second}

func scanRun(ctx context.Context, opts *ScanOptions) error {
	srcCfg, err := opts.source()
	if err != nil {
		return err
	}
	settings, err := opts.Settings.settings()
	if err != nil {
		return err
	}
	tmpl, err := scan.ParseTemplate(settings.DeviceID)
	if err != nil {
		return cli.Usagef("--device-id: %v", err)
	}
	settings.DeviceID = ""
	if err := settings.Validate(); err != nil {
		return cli.Usagef("%v", err)
	}
	if opts.FirstNumber < 1 {
		return cli.Usagef("--first-number must be 1 or more")
	}
	cfg := scan.Config{
		Settings: settings, DeviceID: tmpl, FirstNumber: opts.FirstNumber, Replace: opts.Replace,
		DryRun: opts.DryRun, Once: opts.Once, Hold: opts.Hold, SettleTimeout: opts.Settle,
		AttemptTimeout: opts.Service.Timeout,
	}
	var jpath string
	if !opts.DryRun {
		if cfg.Client, err = opts.Service.dial(dps.Options{Retry: scanClientRetry}); err != nil {
			return err
		}
		if jpath = opts.Journal; jpath == "" {
			if jpath, err = journal.DefaultPath(); err != nil {
				return err
			}
		}
		j, err := journal.Open(jpath)
		if err != nil {
			return err
		}
		defer j.Close()
		cfg.Journal = j
	}
	src, err := camera.Open(ctx, srcCfg)
	if err != nil {
		return err
	}
	defer src.Close()
	cfg.Source = src

	rep := newScanReporter(opts)
	cfg.Report = rep.event
	s, err := scan.New(cfg)
	if err != nil {
		return err
	}
	stopStatus := rep.start(s)
	sum, err := s.Run(ctx)
	stopStatus()
	if err != nil {
		return err
	}
	rep.summary(sum, jpath)
	return scanExit(sum)
}

// scanExit turns what a scan left undone into the exit status.
func scanExit(sum scan.Summary) error {
	switch {
	case sum.Queued > 0:
		return fmt.Errorf("%d enrollments are still queued in the journal: run companion sync when DPS can be reached", sum.Queued)
	case sum.Failed > 0:
		return fmt.Errorf("%d enrollments failed (see above)", sum.Failed)
	case sum.Conflicts > 0:
		return &cli.ConflictError{Err: errors.New("some registration IDs are enrolled with another key (see above); nothing was changed for them")}
	}
	return nil
}

package companion

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/pkg/doctor"
)

// DoctorOptions are the inputs of `companion doctor`.
type DoctorOptions struct {
	IO      *cli.IOStreams
	Service dpsflags.Flags
	Journal string
	Camera  string
	Format  *cli.FormatFlag
	Timeout time.Duration

	// cameras is the device file pattern looked at when --camera is not given; tests point it
	// at a folder of their own.
	cameras string
}

const doctorLong = `Check, one line each, what this machine needs to enroll devices, and say what to do
about anything that is wrong:

  connection string  $DPS_CONNECTION_STRING or --connection-string-file: parsed; its
                     host and policy shown (the key never is)
  CA file            --ca-file or $DPS_CA_FILE: readable, PEM, not expired (none: the
                     system's CAs)
  DNS, TLS           DPS's host name resolves, and TLS to it verifies with that CA
  clock              against DPS's: SAS tokens are refused past 5 minutes of skew
  credentials        DPS accepts the policy's key (one read of an enrollment that
                     does not exist: 404 means the key is right, 401 that it is not)
  journal            enrollments still queued (send them with companion sync) and
                     conflicts (a registration ID enrolled with another key)
  cameras            the V4L2 webcams (/dev/video*, or --camera DEV) and the mode a
                     scan picks
  ffmpeg             on PATH, and its version: scan --video and --ffmpeg-input need it

✔ is fine, ! is a warning (enrolling can go on), ✘ blocks enrolling and – was not
looked at (a check before it failed). Each problem's next line, after →, says what to
do. Checks run in order, each for at most --timeout.

--format json prints one object: {"blocked": bool, "checks": [{"name", "title",
"status" (ok, warn, fail, skipped), "detail", "fix"}]}.

Exit status: 0 when nothing blocks (warnings included), 1 when a check failed
(✘), 2 for a mistake in the command line.
` + serviceHelp

// NewCmdDoctor returns `companion doctor`. runF replaces the run function in tests.
func NewCmdDoctor(ios *cli.IOStreams, runF func(context.Context, *DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "doctor [--camera DEV] [--journal FILE] [--format json]",
		Short: "Check the connection string, DPS, the clock, the journal, the cameras and ffmpeg",
		Long:  doctorLong,
		Example: `  export DPS_CONNECTION_STRING='HostName=…;SharedAccessKeyName=…;SharedAccessKey=…'
  companion doctor
  companion doctor --connection-string-file ~/.config/oob/dps --camera /dev/video2
  companion doctor --ca-file emu/ca.pem --connection-string-file emu/service-connection-string
  companion doctor --format json | jq -r '.checks[] | select(.status=="fail") | .fix'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	opts.Service.Register(f)
	journalFlag(f, &opts.Journal)
	f.StringVar(&opts.Camera, "camera", "", "check only this V4L2 camera, e.g. /dev/video2 (default: every /dev/video*)")
	f.DurationVar(&opts.Timeout, "timeout", doctor.DefaultTimeout, "give each check at most this long")
	f.Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	if opts.Timeout <= 0 {
		return cli.Usagef("--timeout must be positive")
	}
	checks, err := doctorChecks(opts)
	if err != nil {
		return err
	}
	var progress func(doctor.Result)
	if opts.Format.Value != cli.FormatJSON {
		progress = func(r doctor.Result) { _ = doctor.WriteLine(opts.IO.Out, r) }
	}
	rep := doctor.Run(ctx, checks, progress)
	if opts.Format.Value == cli.FormatJSON {
		err = rep.WriteJSON(opts.IO.Out)
	} else {
		err = rep.WriteSummary(opts.IO.Out)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if rep.Blocked() {
		return cli.ErrSilent
	}
	return nil
}

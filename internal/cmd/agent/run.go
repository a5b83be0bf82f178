package agent

import (
	"bufio"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/devicecert"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/keyfile"
	"github.com/oobtpm/oob/pkg/tpm"
)

// DefaultConfig is where the agent's unit points --config.
const DefaultConfig = "/etc/oob/agent.json"

// envKillAt names a first-boot checkpoint (a stage, or "workload-enabled") at which `run` kills
// itself with SIGKILL: the crash tests' way of pulling the plug at an exact point.
const envKillAt = "OOB_TEST_KILL_AT"

// RunOptions are the inputs of `oob-agent run`.
type RunOptions struct {
	IO      *cli.IOStreams
	Config  string
	Verbose bool
}

// NewCmdRun returns `oob-agent run`. runF replaces the run function in tests.
func NewCmdRun(ios *cli.IOStreams, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "run [--config FILE]",
		Short: "The first boot: show the code, wait to be enrolled, register, connect, finalize",
		Long: `Run the device's first boot, as the oob-agent service does, until the device is
finalized. Progress is kept in the state directory, so a restart (a power cut, a crash,
kill -9) resumes where it stopped; a finalized device exits at once and never shows its
code again.

While waiting, the agent shows its identity code and tries to register with DPS on a
jittered backoff, so it notices by itself when the technician has enrolled it. Enter on
the console, or "oob-agent done", asks for an attempt now. Once DPS has assigned it and
the hub has accepted a connection, the workload units are enabled, the device is
recorded as finalized, the agent's own unit is disabled and the device reboots, as the
config's "finalize" section says.

SIGTERM stops it cleanly; the next start resumes.`,
		Example: `  oob-agent run
  oob-agent run --config ./agent.json --verbose`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", DefaultConfig, "the agent's config file")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "log every step to standard error")
	return cmd
}

func runRun(ctx context.Context, opts *RunOptions) error {
	cfg, err := firstboot.LoadConfig(opts.Config)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if opts.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: level}))
	defer logPeakMemory(log)
	fin, err := newFinalizer(cfg, "", log)
	if err != nil {
		return err
	}
	tpmOpts := tpmOptions{Spec: cfg.TPM.Path, EndorsementAuthFile: cfg.TPM.EndorsementAuthFile, OwnerAuthFile: cfg.TPM.OwnerAuthFile}
	fo := firstboot.Options{
		OpenTPM: func(ctx context.Context) (*tpm.TPM, error) { return tpmOpts.open(ctx) },
		OpenX509Key: func(ctx context.Context, x *firstboot.X509Config) (crypto.Signer, func() error, error) {
			return openX509Key(ctx, x, tpmOpts)
		},
		Terminal: &firstboot.Terminal{Out: opts.IO.Out, Size: opts.IO.TermSize},
		Trigger:  enterPresses(ctx, opts.IO.In),
		Logger:   log,
	}
	if fin != nil { // a nil *Finalizer in the interface would not read as "none"
		fo.Finalizer = fin
	}
	if point := os.Getenv(envKillAt); point != "" {
		// Crash tests: die as kill -9 would, at the named checkpoint.
		fo.Checkpoint = func(p string) {
			if p == point {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	st, err := firstboot.Run(ctx, cfg, fo)
	if errors.Is(err, context.Canceled) {
		return nil // SIGTERM: the state is saved; the next start resumes
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "first boot: %s (registration ID %s, hub %s)\n", st.Stage, st.RegistrationID, st.AssignedHub)
	return nil
}

// enterPresses turns Enter on a console into attempt requests; nil when standard input is not a
// terminal (a service without a tty, a pipe).
func enterPresses(ctx context.Context, in io.Reader) <-chan struct{} {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	ch := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			default:
			}
		}
	}()
	return ch
}

// DoneOptions are the inputs of `oob-agent done`.
type DoneOptions struct {
	IO     *cli.IOStreams
	Config string
}

// NewCmdDone returns `oob-agent done`.
func NewCmdDone(ios *cli.IOStreams) *cobra.Command {
	opts := &DoneOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "done",
		Short: "Tell the waiting agent the device has been enrolled: try registering now",
		Long: `Ask the running first-boot agent (oob-agent run) to try registering now rather than
at its next scheduled attempt, as the original sample's "Onboarding Done" button did, and
print its status. The agent notices an enrollment by itself; this only saves the wait.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := firstboot.LoadConfig(opts.Config)
			if err != nil {
				return err
			}
			status, err := firstboot.Nudge(cmd.Context(), cfg.StateDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.Out, "asked the agent to try now; it said: %s\n", status)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", DefaultConfig, "the agent's config file (for its state directory)")
	return cmd
}

// openX509Key opens the key of the device's certificate: the TPM's, which `oob-agent certify`
// made, or the key file the config names.
func openX509Key(ctx context.Context, x *firstboot.X509Config, tpmOpts tpmOptions) (crypto.Signer, func() error, error) {
	if x.Key != firstboot.KeyInTPM {
		k, err := keyfile.Read(x.Key)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("x509: no key file %s: run `oob-agent certify --key file --key-file %s` first", x.Key, x.Key)
		}
		if err != nil {
			return nil, nil, err
		}
		return k, func() error { return nil }, nil
	}
	k, err := devicecert.OpenKey(ctx, devicecert.KeyTPM, "", func(ctx context.Context) (*tpm.TPM, error) { return tpmOpts.open(ctx) })
	if err != nil {
		return nil, nil, err
	}
	return k.Signer, k.Close, nil
}

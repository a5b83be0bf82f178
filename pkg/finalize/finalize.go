package finalize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RebootRecord is where, under an offline Root and without a RebootCommand, Run records the
// reboot it would have asked for: /run, because a request to reboot means nothing once booted.
const RebootRecord = "run/oob/reboot-requested"

// Options are how Run reaches systemd. The zero value is right on a device.
type Options struct {
	// Systemctl is the systemctl program that Run drives systemd with (with --root for an
	// offline Root); default "systemctl" on PATH.
	Systemctl string
	// Logger receives one line per step; nil logs nothing.
	Logger *slog.Logger
}

// Finalizer runs one Config's steps.
type Finalizer struct {
	cfg  Config
	opts Options
	log  *slog.Logger
}

// New checks cfg and returns its Finalizer. cfg normally comes from Parse; New checks again,
// since a Config may also be built in code.
func New(cfg Config, opts Options) (*Finalizer, error) {
	b, err := cfg.MarshalJSON()
	if err != nil {
		return nil, err
	}
	checked, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if opts.Systemctl == "" {
		opts.Systemctl = "systemctl"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Finalizer{cfg: checked, opts: opts, log: log}, nil
}

// Action is what a Step does.
type Action string

// The actions, in the order Run takes them.
const (
	ActionCheck   Action = "check"   // the unit can be enabled: it exists, has an [Install] section, is not masked
	ActionEnable  Action = "enable"  // the workload's unit is enabled
	ActionReload  Action = "reload"  // systemd reloads its unit files (live system)
	ActionStart   Action = "start"   // the workload's unit is started (live system)
	ActionMark    Action = "mark"    // the caller records the device as finalized
	ActionDisable Action = "disable" // the agent's unit is disabled
	ActionReboot  Action = "reboot"  // the device reboots, or the reboot command runs, or the reboot is recorded
)

// Step is one thing Run does.
type Step struct {
	Action Action
	// Unit is the unit of a check, enable, start or disable.
	Unit string
	// Root is the offline root the step works on, if any.
	Root string
	// Delay is waited before a reboot.
	Delay time.Duration
	// Command is run for a reboot instead of asking systemd.
	Command []string
}

// String says in words what the step does, for --dry-run.
func (s Step) String() string {
	in := ""
	if s.Root != "" {
		in = " in " + s.Root + " (systemctl --root)"
	}
	switch s.Action {
	case ActionCheck:
		return fmt.Sprintf("check that %s exists and can be enabled%s", s.Unit, in)
	case ActionEnable:
		return fmt.Sprintf("enable %s%s", s.Unit, in)
	case ActionReload:
		return "reload systemd's unit files"
	case ActionStart:
		return fmt.Sprintf("start %s", s.Unit)
	case ActionMark:
		return "record the device as finalized"
	case ActionDisable:
		return fmt.Sprintf("disable %s%s", s.Unit, in)
	case ActionReboot:
		var how string
		switch {
		case len(s.Command) > 0:
			how = "run " + strings.Join(s.Command, " ")
		case s.Root != "":
			how = "record the reboot in " + filepath.Join(s.Root, RebootRecord) + " (this machine is not rebooted)"
		default:
			how = "reboot (systemd's " + rebootTarget + ")"
		}
		if s.Delay > 0 {
			return fmt.Sprintf("wait %s, then %s", s.Delay, how)
		}
		return how
	}
	return string(s.Action)
}

// Plan is what Run does, step by step. Every workload unit is checked before any is enabled, so
// that a misnamed unit fails the step before anything has changed.
func (f *Finalizer) Plan() []Step {
	c := f.cfg
	var steps []Step
	for _, u := range c.Enable {
		steps = append(steps, Step{Action: ActionCheck, Unit: u, Root: c.Root})
	}
	for _, u := range c.Enable {
		steps = append(steps, Step{Action: ActionEnable, Unit: u, Root: c.Root})
	}
	if c.Root == "" && len(c.Enable) > 0 {
		steps = append(steps, Step{Action: ActionReload})
		for _, u := range c.Enable {
			steps = append(steps, Step{Action: ActionStart, Unit: u})
		}
	}
	steps = append(steps, Step{Action: ActionMark})
	for _, u := range c.Disable {
		steps = append(steps, Step{Action: ActionDisable, Unit: u, Root: c.Root})
	}
	if c.Reboot {
		steps = append(steps, Step{Action: ActionReboot, Root: c.Root, Delay: c.RebootDelay, Command: c.RebootCommand})
	}
	return steps
}

// Run takes the Plan's steps in order. markFinalized records the device as finalized, durably;
// it is called only once every workload unit is enabled (and started), and nothing after it runs
// unless it succeeds. A failing step stops Run with an error naming the unit (a *UnitError); the
// device then stays in out-of-box mode, and since every step is safe to repeat, calling Run
// again, after a crash or a power cut at any point too, converges to the same end.
func (f *Finalizer) Run(ctx context.Context, markFinalized func(context.Context) error) error {
	if markFinalized == nil {
		return errors.New("finalize: Run needs a markFinalized function")
	}
	sd := systemctl{path: f.opts.Systemctl, root: f.cfg.Root}
	for _, s := range f.Plan() {
		f.log.Info("finalize: " + s.String())
		if err := f.do(ctx, sd, s, markFinalized); err != nil {
			return err
		}
	}
	return nil
}

func (f *Finalizer) do(ctx context.Context, sd systemd, s Step, markFinalized func(context.Context) error) error {
	unitErr := func(err error) error {
		if err == nil {
			return nil
		}
		return &UnitError{Action: s.Action, Unit: s.Unit, Err: err}
	}
	switch s.Action {
	case ActionCheck:
		state, err := sd.state(ctx, s.Unit)
		if err != nil {
			return unitErr(err)
		}
		return unitErr(enableable(state))
	case ActionEnable:
		return unitErr(sd.enable(ctx, s.Unit))
	case ActionReload:
		if err := sd.reload(ctx); err != nil {
			return fmt.Errorf("finalize: reloading systemd: %w", err)
		}
		return nil
	case ActionStart:
		return unitErr(sd.start(ctx, s.Unit))
	case ActionMark:
		if err := markFinalized(ctx); err != nil {
			return fmt.Errorf("finalize: recording the device as finalized: %w", err)
		}
		return nil
	case ActionDisable:
		state, err := sd.state(ctx, s.Unit)
		if err != nil {
			return unitErr(err)
		}
		if state == "" {
			// Already as disabled as it can be; the finalized marker keeps the agent from
			// starting anyway.
			f.log.Warn("finalize: nothing to disable: no unit file", "unit", s.Unit)
			return nil
		}
		return unitErr(sd.disable(ctx, s.Unit))
	case ActionReboot:
		return f.reboot(ctx, sd, s)
	}
	return fmt.Errorf("finalize: unknown step %q", s.Action)
}

// enableable says whether a unit file in this state (systemctl is-enabled's words) can be
// enabled, and why not.
func enableable(state string) error {
	switch state {
	case "enabled", "enabled-runtime", "disabled", "linked", "linked-runtime", "alias", "indirect":
		return nil
	case "":
		return ErrUnitNotFound
	case "static":
		return ErrNoInstall
	case "masked", "masked-runtime":
		return ErrMasked
	}
	return fmt.Errorf("its unit file is %q, which systemd cannot enable", state)
}

func (f *Finalizer) reboot(ctx context.Context, sd systemd, s Step) error {
	if s.Delay > 0 {
		t := time.NewTimer(s.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("finalize: reboot: %w", ctx.Err())
		}
	}
	switch {
	case len(s.Command) > 0:
		out, err := exec.CommandContext(ctx, s.Command[0], s.Command[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("finalize: reboot command %s: %w: %s", strings.Join(s.Command, " "), err, strings.TrimSpace(string(out)))
		}
	case s.Root != "":
		path := filepath.Join(s.Root, RebootRecord)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("finalize: recording the reboot: %w", err)
		}
		line := fmt.Sprintf("reboot requested %s after %s\n", time.Now().UTC().Format(time.RFC3339), s.Delay)
		if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
			return fmt.Errorf("finalize: recording the reboot: %w", err)
		}
	default:
		if err := sd.reboot(ctx); err != nil {
			return fmt.Errorf("finalize: reboot: %w", err)
		}
	}
	return nil
}

package finalize

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// systemd is what the steps need from systemd.
type systemd interface {
	// state is the unit file's state as systemctl is-enabled prints it, "" when there is none.
	state(ctx context.Context, unit string) (string, error)
	enable(ctx context.Context, unit string) error
	reload(ctx context.Context) error
	start(ctx context.Context, unit string) error
	disable(ctx context.Context, unit string) error
	reboot(ctx context.Context) error
}

// rebootTarget is what systemctl reboot starts (replace-irreversibly, so that a later job cannot
// cancel it).
const rebootTarget = "reboot.target"

// systemctl drives systemd through its command, on the live system or, with root set, on an
// offline root (systemctl --root), where it edits symlinks and nothing runs. The command rather
// than systemd's D-Bus API keeps a D-Bus client out of the agent: a few processes at the end of
// the first boot cost less than its share of a binary that ships to small devices.
type systemctl struct {
	path string
	root string
}

func (s systemctl) run(ctx context.Context, args ...string) (stdout string, err error) {
	if s.root != "" {
		args = append([]string{"--root=" + s.root}, args...)
	}
	cmd := exec.CommandContext(ctx, s.path, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil && ctx.Err() != nil {
		// Killed because the caller gave up: say so, rather than "signal: killed".
		return out.String(), fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), ctx.Err())
	}
	if err != nil {
		msg := strings.TrimSpace(errOut.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return out.String(), fmt.Errorf("systemctl %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

func (s systemctl) state(ctx context.Context, unit string) (string, error) {
	out, err := s.run(ctx, "is-enabled", "--", unit)
	state := strings.TrimSpace(out)
	if state == "not-found" || state == "" && err != nil {
		// is-enabled fails without printing a state when there is no unit file; systemd 253
		// and later print "not-found". Any other failure shows up in the step that follows.
		return "", nil
	}
	// A disabled unit makes is-enabled exit 1; the state printed is what counts.
	return state, nil
}

func (s systemctl) enable(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "enable", "--", unit)
	return err
}

// reload does nothing: systemctl enable has reloaded systemd already.
func (s systemctl) reload(context.Context) error { return nil }

func (s systemctl) start(ctx context.Context, unit string) error {
	if _, err := s.run(ctx, "start", "--", unit); err != nil {
		return fmt.Errorf("%w: %w", ErrStartFailed, err)
	}
	return nil
}

func (s systemctl) disable(ctx context.Context, unit string) error {
	_, err := s.run(ctx, "disable", "--", unit)
	return err
}

func (s systemctl) reboot(ctx context.Context) error {
	_, err := s.run(ctx, "reboot")
	return err
}

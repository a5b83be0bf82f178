package finalize

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/coreos/go-systemd/v22/dbus"
)

// Manager is the part of systemd's D-Bus API (go-systemd's *dbus.Conn) that finalizing uses.
type Manager interface {
	ListUnitFilesByPatternsContext(ctx context.Context, states, patterns []string) ([]dbus.UnitFile, error)
	EnableUnitFilesContext(ctx context.Context, files []string, runtime, force bool) (bool, []dbus.EnableUnitFileChange, error)
	DisableUnitFilesContext(ctx context.Context, files []string, runtime bool) ([]dbus.DisableUnitFileChange, error)
	ReloadContext(ctx context.Context) error
	StartUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
}

// systemd is what the steps need, over D-Bus or through the systemctl command.
type systemd interface {
	// state is the unit file's state as systemctl is-enabled prints it, "" when there is none.
	state(ctx context.Context, unit string) (string, error)
	enable(ctx context.Context, unit string) error
	reload(ctx context.Context) error
	start(ctx context.Context, unit string) error
	disable(ctx context.Context, unit string) error
	reboot(ctx context.Context) error
}

// rebootTarget is what systemctl reboot starts; replace-irreversibly keeps a later job from
// cancelling it, as systemctl does.
const rebootTarget = "reboot.target"

// bus drives systemd over D-Bus.
type bus struct{ m Manager }

func (b bus) state(ctx context.Context, unit string) (string, error) {
	// An instance's unit file is its template's.
	pattern := unit
	if at := strings.IndexByte(unit, '@'); at >= 0 {
		pattern = unit[:at+1] + unit[strings.LastIndexByte(unit, '.'):]
	}
	files, err := b.m.ListUnitFilesByPatternsContext(ctx, nil, []string{strings.ReplaceAll(pattern, `\`, `\\`)})
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if f.Path[strings.LastIndexByte(f.Path, '/')+1:] == pattern {
			return f.Type, nil
		}
	}
	return "", nil
}

func (b bus) enable(ctx context.Context, unit string) error {
	install, _, err := b.m.EnableUnitFilesContext(ctx, []string{unit}, false, false)
	if err != nil {
		return err
	}
	if !install {
		return ErrNoInstall
	}
	return nil
}

func (b bus) reload(ctx context.Context) error { return b.m.ReloadContext(ctx) }

func (b bus) start(ctx context.Context, unit string) error {
	done := make(chan string, 1)
	if _, err := b.m.StartUnitContext(ctx, unit, "replace", done); err != nil {
		return err
	}
	select {
	case result := <-done:
		if result != "done" {
			return fmt.Errorf("%w: its start job ended %q (journalctl -u %s says why)", ErrStartFailed, result, unit)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b bus) disable(ctx context.Context, unit string) error {
	_, err := b.m.DisableUnitFilesContext(ctx, []string{unit}, false)
	return err
}

func (b bus) reboot(ctx context.Context) error {
	_, err := b.m.StartUnitContext(ctx, rebootTarget, "replace-irreversibly", nil)
	return err
}

// systemctl drives systemd through its command, on the live system or, with root set, on an
// offline root (systemctl --root), where it edits symlinks and nothing runs.
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

package finalize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The live-system path (no Root: start, reload, reboot) can only be tested against a stand-in
// systemctl: there is no systemd running as PID 1 here (nor in CI's containers). The stand-in
// keeps unit file states as files, answers as systemctl does (is-enabled prints the state and
// exits 1 unless enabled; a failed start job exits 1) and logs every call, so the tests check
// what is asked of systemd and in which order; the offline tests (systemctl_test.go) check the
// same steps on real unit files with the real systemctl --root.
const fakeSystemctl = `#!/bin/sh
d=$(dirname "$0")
echo "$*" >>"$d/calls"
cmd=$1
shift
[ "$1" = "--" ] && shift
state="$d/state/$1"
case $cmd in
is-enabled)
	[ -f "$state" ] || { echo "Failed to get unit file state for $1: No such file or directory" >&2; exit 1; }
	cat "$state"
	[ "$(cat "$state")" = enabled ]
	;;
enable)
	[ -f "$state" ] || { echo "Failed to enable unit: Unit file $1 does not exist." >&2; exit 1; }
	echo enabled >"$state"
	;;
disable) echo disabled >"$state" ;;
start)
	[ -f "$d/fails/$1" ] || exit 0
	echo "Job for $1 failed because the control process exited with error code." >&2
	exit 1
	;;
reboot) ;;
*) echo "unknown command $cmd" >&2; exit 1 ;;
esac
`

// liveSystem is the stand-in systemctl's directory: the program, its states and its calls.
type liveSystem struct{ dir string }

func newLiveSystem(t *testing.T, states map[string]string, failing ...string) *liveSystem {
	t.Helper()
	s := &liveSystem{dir: t.TempDir()}
	for _, sub := range []string{"state", "fails"} {
		if err := os.Mkdir(filepath.Join(s.dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(s.dir, path), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("systemctl", fakeSystemctl, 0o755)
	write("calls", "", 0o644)
	for unit, st := range states {
		write(filepath.Join("state", unit), st+"\n", 0o644)
	}
	for _, unit := range failing {
		write(filepath.Join("fails", unit), "", 0o644)
	}
	return s
}

func (s *liveSystem) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func (s *liveSystem) state(t *testing.T, unit string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "state", unit))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// mark records the caller's "finalized" mark among systemctl's calls.
func (s *liveSystem) mark(context.Context) error {
	f, err := os.OpenFile(filepath.Join(s.dir, "calls"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("markFinalized\n")
	return errors.Join(err, f.Close())
}

func live(t *testing.T, s *liveSystem, cfg Config) *Finalizer {
	t.Helper()
	f, err := New(cfg, Options{Systemctl: filepath.Join(s.dir, "systemctl")})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLiveRun(t *testing.T) {
	s := newLiveSystem(t, map[string]string{"kiosk.service": "disabled", "getty@tty2.service": "enabled", AgentUnit: "enabled"})
	f := live(t, s, Config{Enable: []string{"kiosk", "getty@tty2"}, Disable: []string{AgentUnit}, Reboot: true})
	if err := f.Run(context.Background(), s.mark); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"is-enabled -- kiosk.service",
		"is-enabled -- getty@tty2.service",
		"enable -- kiosk.service",
		"enable -- getty@tty2.service",
		// no reload: systemctl enable has reloaded systemd
		"start -- kiosk.service",
		"start -- getty@tty2.service",
		"markFinalized",
		"is-enabled -- oob-agent.service",
		"disable -- oob-agent.service",
		"reboot",
	}
	if got := strings.Join(s.calls(t), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if st := s.state(t, "kiosk.service"); st != "enabled" {
		t.Errorf("kiosk.service is %s, want enabled", st)
	}
}

func TestLiveRunStopsBeforeMarking(t *testing.T) {
	for _, tc := range []struct {
		name    string
		states  map[string]string
		failing []string
		want    error
		wantErr string
	}{
		{"start job failed", map[string]string{"kiosk.service": "disabled", AgentUnit: "enabled"}, []string{"kiosk.service"},
			ErrStartFailed, "cannot start kiosk.service: the unit did not start: systemctl start -- kiosk.service: exit status 1: Job for kiosk.service failed"},
		{"no install info", map[string]string{"kiosk.service": "static", AgentUnit: "enabled"}, nil,
			ErrNoInstall, "cannot check kiosk.service"},
		{"no such unit", map[string]string{AgentUnit: "enabled"}, nil,
			ErrUnitNotFound, "cannot check kiosk.service: no such unit file"},
		{"masked", map[string]string{"kiosk.service": "masked", AgentUnit: "enabled"}, nil,
			ErrMasked, "cannot check kiosk.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLiveSystem(t, tc.states, tc.failing...)
			err := live(t, s, Config{Enable: []string{"kiosk"}, Disable: []string{AgentUnit}, Reboot: true}).Run(context.Background(), s.mark)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Run: %v, want %v (%q)", err, tc.want, tc.wantErr)
			}
			for _, c := range s.calls(t) {
				if c == "markFinalized" || strings.HasPrefix(c, "disable") || strings.Contains(c, "reboot") {
					t.Errorf("%q after a failed step", c)
				}
			}
			if s.state(t, AgentUnit) != "enabled" {
				t.Error("the agent's unit was disabled")
			}
		})
	}
}

func TestLiveDisableMissingUnit(t *testing.T) {
	s := newLiveSystem(t, map[string]string{"kiosk.service": "enabled"})
	if err := live(t, s, Config{Enable: []string{"kiosk"}, Disable: []string{"oob-agent-old.service"}}).Run(context.Background(), s.mark); err != nil {
		t.Fatal(err)
	}
	for _, c := range s.calls(t) {
		if strings.HasPrefix(c, "disable") {
			t.Errorf("%q: a unit without a unit file is already disabled", c)
		}
	}
}

func TestLiveRebootDelayCancelled(t *testing.T) {
	s := newLiveSystem(t, map[string]string{"kiosk.service": "enabled"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := live(t, s, Config{Enable: []string{"kiosk"}, Reboot: true, RebootDelay: time.Hour}).Run(ctx, s.mark)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v, want the context's error", err)
	}
	if calls := s.calls(t); calls[len(calls)-1] != "markFinalized" {
		t.Errorf("last call %q; the reboot should not have been asked for", calls[len(calls)-1])
	}
}

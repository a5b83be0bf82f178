package finalize

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests switch units in a temporary root with the real systemctl --root, as an image build
// does; the agent's unit is the one deploy/ ships.

const (
	installed = "[Unit]\nDescription=%s\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
	static    = "[Unit]\nDescription=no [Install] section\n[Service]\nExecStart=/bin/true\n"
)

func needSystemctl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemctl"); err != nil {
		if os.Getenv("OOB_E2E") == "1" {
			t.Fatal("systemctl is not installed (Debian package systemd)")
		}
		t.Skip("systemctl is not installed (Debian package systemd)")
	}
}

// newRoot makes an offline root holding the agent's unit, enabled as `make install` leaves it,
// and the given units (name → contents) under etc/systemd/system, or usr/lib/systemd/system for
// a name given as "usr:NAME".
func newRoot(t *testing.T, units map[string]string) string {
	t.Helper()
	needSystemctl(t)
	root := t.TempDir()
	agent, err := os.ReadFile("../../deploy/oob-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	units["usr:"+AgentUnit] = string(agent)
	for name, body := range units {
		dir := "etc/systemd/system"
		if n, ok := strings.CutPrefix(name, "usr:"); ok {
			name, dir = n, "usr/lib/systemd/system"
		}
		path := filepath.Join(root, dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("systemctl", "--root="+root, "enable", AgentUnit).CombinedOutput(); err != nil {
		t.Fatalf("enabling the agent: %v: %s", err, out)
	}
	if !enabled(t, root, AgentUnit) {
		t.Fatal("the agent's unit is not enabled after systemctl enable")
	}
	return root
}

// enabled says whether unit is wanted by multi-user.target in root, by its symlink.
func enabled(t *testing.T, root, unit string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants", unit))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func rebootRecorded(t *testing.T, root string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(root, RebootRecord))
	return err == nil
}

func offline(t *testing.T, root string, enable ...string) *Finalizer {
	t.Helper()
	f, err := New(Config{Enable: enable, Disable: []string{AgentUnit}, Reboot: true, Root: root}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// marker stands in for the caller's durable "finalized" record.
type marker struct {
	calls int
	err   error
}

func (m *marker) mark(context.Context) error {
	m.calls++
	return m.err
}

// checkFinalized asserts the end state: the workload enabled, the agent disabled, the reboot
// recorded.
func checkFinalized(t *testing.T, root string, workload ...string) {
	t.Helper()
	for _, u := range workload {
		if !enabled(t, root, u) {
			t.Errorf("%s is not enabled", u)
		}
	}
	if enabled(t, root, AgentUnit) {
		t.Error("the agent's unit is still enabled")
	}
	if !rebootRecorded(t, root) {
		t.Error("no reboot recorded")
	}
}

// checkOutOfBox asserts that the device is still in out-of-box mode: the agent enabled, no
// reboot.
func checkOutOfBox(t *testing.T, root string) {
	t.Helper()
	if !enabled(t, root, AgentUnit) {
		t.Error("the agent's unit was disabled")
	}
	if rebootRecorded(t, root) {
		t.Error("a reboot was recorded")
	}
}

func TestRunOfflineRoot(t *testing.T) {
	root := newRoot(t, map[string]string{"kiosk.service": installed, "usr:telemetry.service": installed})
	f := offline(t, root, "kiosk.service", "telemetry")
	var m marker
	if err := f.Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	if m.calls != 1 {
		t.Errorf("markFinalized called %d times", m.calls)
	}
	checkFinalized(t, root, "kiosk.service", "telemetry.service")

	// Again, as after a power cut right at the end: same state, no error.
	if err := f.Run(context.Background(), m.mark); err != nil {
		t.Fatalf("second run: %v", err)
	}
	checkFinalized(t, root, "kiosk.service", "telemetry.service")
}

// The original sample's finalize.config.json, on an image whose units carry its names.
func TestRunOriginalSampleConfig(t *testing.T) {
	root := newRoot(t, map[string]string{"usr:AzureDeviceManagementClient.service": installed, "Contoso.OEMApp.service": installed})
	cfg, err := Parse([]byte(`{"startupService": "AzureDeviceManagementClient", "startupApp": "Contoso.OEMApp"}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Root, cfg.RebootDelay = root, 0
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m marker
	if err := f.Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	checkFinalized(t, root, "AzureDeviceManagementClient.service", "Contoso.OEMApp.service")
}

func TestRunRefusesUnitsItCannotEnable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units map[string]string
		mask  bool
		want  error
	}{
		{"no such unit", map[string]string{}, false, ErrUnitNotFound},
		{"no [Install] section", map[string]string{"bad.service": static}, false, ErrNoInstall},
		{"masked", map[string]string{"usr:bad.service": installed}, true, ErrMasked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.units["kiosk.service"] = installed
			root := newRoot(t, tc.units)
			if tc.mask {
				if out, err := exec.Command("systemctl", "--root="+root, "mask", "bad.service").CombinedOutput(); err != nil {
					t.Fatalf("mask: %v: %s", err, out)
				}
			}
			var m marker
			err := offline(t, root, "kiosk.service", "bad.service").Run(context.Background(), m.mark)
			var ue *UnitError
			if !errors.As(err, &ue) || ue.Unit != "bad.service" || ue.Action != ActionCheck || !errors.Is(err, tc.want) {
				t.Fatalf("Run: %v, want a check error on bad.service: %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "bad.service") {
				t.Errorf("the error does not name the unit: %v", err)
			}
			if m.calls != 0 {
				t.Error("markFinalized was called")
			}
			if enabled(t, root, "kiosk.service") {
				t.Error("kiosk.service was enabled although bad.service cannot be")
			}
			checkOutOfBox(t, root)
		})
	}
}

func TestRunAfterMarkFails(t *testing.T) {
	root := newRoot(t, map[string]string{"kiosk.service": installed})
	f := offline(t, root, "kiosk.service")
	m := marker{err: errors.New("disk full")}
	if err := f.Run(context.Background(), m.mark); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Run with a failing markFinalized: %v", err)
	}
	if !enabled(t, root, "kiosk.service") {
		t.Error("kiosk.service is not enabled")
	}
	checkOutOfBox(t, root)

	m.err = nil
	if err := f.Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	checkFinalized(t, root, "kiosk.service")
}

// TestRunKilledAfterEnable kills a finalizing process with SIGKILL once the workload is enabled
// (inside markFinalized, before anything is recorded), then finalizes again.
func TestRunKilledAfterEnable(t *testing.T) {
	if root := os.Getenv("FINALIZE_TEST_KILL_ROOT"); root != "" {
		offline(t, root, "kiosk.service").Run(context.Background(), func(context.Context) error {
			return syscall.Kill(os.Getpid(), syscall.SIGKILL)
		})
		t.Fatal("still alive")
	}
	root := newRoot(t, map[string]string{"kiosk.service": installed})
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunKilledAfterEnable$")
	cmd.Env = append(os.Environ(), "FINALIZE_TEST_KILL_ROOT="+root)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the finalizing process was not killed: %v: %s", err, out)
	}
	if !enabled(t, root, "kiosk.service") {
		t.Error("kiosk.service is not enabled")
	}
	checkOutOfBox(t, root)

	var m marker
	if err := offline(t, root, "kiosk.service").Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	checkFinalized(t, root, "kiosk.service")
}

func TestRebootCommandAfterDelay(t *testing.T) {
	root := newRoot(t, map[string]string{"kiosk.service": installed})
	flag := filepath.Join(t.TempDir(), "rebooted")
	const delay = 200 * time.Millisecond
	f, err := New(Config{Enable: []string{"kiosk"}, Disable: []string{AgentUnit}, Reboot: true, RebootDelay: delay,
		RebootCommand: []string{"touch", flag}, Root: root}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var m marker
	start := time.Now()
	if err := f.Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("rebooted after %s, before the %s delay", took, delay)
	}
	if _, err := os.Stat(flag); err != nil {
		t.Errorf("the reboot command did not run: %v", err)
	}
	if rebootRecorded(t, root) {
		t.Error("the reboot was recorded although the reboot command ran")
	}

	// A failing reboot command is an error: the device is finalized but did not reboot.
	f, _ = New(Config{Enable: []string{"kiosk"}, Reboot: true, RebootCommand: []string{"false"}, Root: root}, Options{})
	if err := f.Run(context.Background(), m.mark); err == nil || !strings.Contains(err.Error(), "reboot command false") {
		t.Errorf("Run with a failing reboot command: %v", err)
	}
}

func TestPlan(t *testing.T) {
	f, err := New(Config{Enable: []string{"kiosk"}, Disable: []string{AgentUnit}, Reboot: true, RebootDelay: 5 * time.Second}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"check that kiosk.service exists and can be enabled",
		"enable kiosk.service",
		"reload systemd's unit files",
		"start kiosk.service",
		"record the device as finalized",
		"disable oob-agent.service",
		"wait 5s, then reboot (systemd's reboot.target)",
	}
	checkPlan(t, f.Plan(), want)

	f, err = New(Config{Enable: []string{"kiosk"}, Reboot: true, Root: "/img"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, f.Plan(), []string{
		"check that kiosk.service exists and can be enabled in /img (systemctl --root)",
		"enable kiosk.service in /img (systemctl --root)",
		"record the device as finalized",
		"record the reboot in /img/run/oob/reboot-requested (this machine is not rebooted)",
	})
}

func checkPlan(t *testing.T, steps []Step, want []string) {
	t.Helper()
	var got []string
	for _, s := range steps {
		got = append(got, s.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	if _, err := New(Config{Enable: []string{"kiosk app"}}, Options{}); err == nil {
		t.Error("New accepted a unit name with a space")
	}
}

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
	// The context ends once the device is marked finalized, inside the hour's wait for the
	// reboot: cancelling on a timer instead would race the systemctl calls before it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	markThenCancel := func(ctx context.Context) error {
		defer cancel()
		return s.mark(ctx)
	}
	err := live(t, s, Config{Enable: []string{"kiosk"}, Reboot: true, RebootDelay: time.Hour}).Run(ctx, markThenCancel)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want the context's error", err)
	}
	if calls := s.calls(t); calls[len(calls)-1] != "markFinalized" {
		t.Errorf("last call %q; the reboot should not have been asked for", calls[len(calls)-1])
	}
}

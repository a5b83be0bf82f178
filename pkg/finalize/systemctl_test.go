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

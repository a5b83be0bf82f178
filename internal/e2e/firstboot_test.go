package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/internal/testio"
)

// device is an offline device root (as an image build makes it) with the agent's unit and a
// workload unit, a software TPM, and the agent's config pointing at the emulator.
type device struct {
	root, config, state, screen string
	emu                         *emulator
}

const unitFile = `[Unit]
Description=%s

[Service]
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
`

func newDevice(t *testing.T, emu *emulator) *device {
	t.Helper()
	spec, _ := swtpmtest.Start(t)
	d := newDeviceRoot(t)
	d.emu = emu
	scope, err := os.ReadFile(filepath.Join(emu.dir, "id-scope"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"version":  1,
		"tpm":      map[string]any{"path": spec},
		"dps":      map[string]any{"idScope": strings.TrimSpace(string(scope)), "endpoint": emu.addr, "caFile": filepath.Join(emu.dir, "ca.pem")},
		"hub":      map[string]any{"address": emu.hub},
		"display":  map[string]any{"outputs": []string{"png"}, "png": d.screen},
		"stateDir": d.state,
		"retry":    map[string]any{"initial": "500ms", "max": "2s"},
		"finalize": map[string]any{"enable": []string{"kiosk.service"}, "disable": []string{"oob-agent.service"},
			"reboot": true, "rebootDelay": "0s", "root": d.root},
	}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(d.config, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

// newDeviceRoot makes a device's offline root with the agent's unit (enabled) and a workload
// unit, and names its config, state and screen files.
func newDeviceRoot(t *testing.T) *device {
	t.Helper()
	systemctl := qrtest.Tool(t, "systemctl", "systemd")
	dir := t.TempDir()
	d := &device{root: filepath.Join(dir, "root"), config: filepath.Join(dir, "agent.json"),
		state: filepath.Join(dir, "state"), screen: filepath.Join(dir, "screen.png")}
	units := filepath.Join(d.root, "etc", "systemd", "system")
	if err := os.MkdirAll(units, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"oob-agent.service", "kiosk.service"} {
		if err := os.WriteFile(filepath.Join(units, u), []byte(fmt.Sprintf(unitFile, u)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(systemctl, "--root="+d.root, "enable", "oob-agent.service").CombinedOutput(); err != nil {
		t.Fatalf("systemctl --root enable: %v\n%s", err, out)
	}
	return d
}

// enabled reports what `systemctl --root is-enabled` says of a unit.
func (d *device) enabled(t *testing.T, unit string) string {
	t.Helper()
	out, _ := exec.Command("systemctl", "--root="+d.root, "is-enabled", unit).Output()
	return strings.TrimSpace(string(out))
}

// agentRun is a running `oob-agent run`.
type agentRun struct {
	cmd    *exec.Cmd
	logs   *testio.Buffer // what it printed
	exited chan struct{}  // closed when the process has exited
	err    error          // its exit, once exited is closed
}

// start runs `oob-agent run` on the device, with extra environment; it is killed when the test
// ends, if it has not exited by then.
func (d *device) start(t *testing.T, env ...string) *agentRun {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "oob-agent"), "run", "--config", d.config, "--verbose")
	cmd.Env = append(os.Environ(), env...)
	logs := &testio.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentRun{cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() { a.err = cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-a.exited
		if t.Failed() {
			t.Logf("agent output:\n%s", logs.String())
		}
	})
	return a
}

// wait waits for the agent to exit and returns how it exited.
func (a *agentRun) wait(t *testing.T, what string, timeout time.Duration) error {
	t.Helper()
	select {
	case <-a.exited:
		return a.err
	case <-time.After(timeout):
		t.Fatalf("%s: the agent was still running after %s", what, timeout)
		return nil
	}
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s", what, timeout)
		case <-tick.C:
		}
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// The first boot as a device maker ships it: the agent shows its code, the technician enrolls
// the screen, the agent notices by itself, registers, connects and finalizes into the root.
// Started again, a finalized device does nothing and shows nothing.
func TestFirstBoot(t *testing.T) {
	emu := startEmulator(t)
	d := newDevice(t, emu)
	a := d.start(t)
	waitFor(t, "the agent's screen", 30*time.Second, func() bool { return exists(d.screen) })
	runEnv(t, emu.env, "companion", "enroll", "--image", d.screen)
	if err := a.wait(t, "finalizing after the enrollment", 60*time.Second); err != nil {
		t.Fatalf("the agent exited with %v", err)
	}
	d.assertFinalized(t)

	os.Remove(d.screen)
	if err := d.start(t).wait(t, "a finalized device", 30*time.Second); err != nil {
		t.Fatalf("a finalized device's agent exited with %v", err)
	}
	if exists(d.screen) {
		t.Fatal("a finalized device showed its code again")
	}
}

func (d *device) assertFinalized(t *testing.T) {
	t.Helper()
	d.assertHandedOver(t)
	out := runEnv(t, d.emu.env, "companion", "enrollment", "list", "--format", "json")
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("%d enrollments, want exactly 1:\n%s", n, out)
	}
	if !strings.Contains(out, `"status":"assigned"`) {
		t.Errorf("the enrollment's registration is not assigned:\n%s", out)
	}
}

// assertHandedOver checks the device's side of finalizing: marked finalized, the workload
// enabled, the agent disabled, a reboot asked for.
func (d *device) assertHandedOver(t *testing.T) {
	t.Helper()
	if !exists(filepath.Join(d.state, "finalized")) {
		t.Error("no finalized marker in the state directory")
	}
	if got := d.enabled(t, "kiosk.service"); got != "enabled" {
		t.Errorf("workload unit is %q, want enabled", got)
	}
	if got := d.enabled(t, "oob-agent.service"); got != "disabled" {
		t.Errorf("agent unit is %q, want disabled", got)
	}
	if !exists(filepath.Join(d.root, "run", "oob", "reboot-requested")) {
		t.Error("no reboot was asked for")
	}
}

// Killed (SIGKILL) at every point a crash must be survivable, then started again: the device
// converges to the same end state, with one enrollment and one registration.
func TestFirstBootSurvivesKills(t *testing.T) {
	for _, point := range []string{"identity-read", "shown", "registered", "hub-connected", "workload-enabled", "finalized"} {
		t.Run(point, func(t *testing.T) {
			emu := startEmulator(t)
			d := newDevice(t, emu)
			a := d.start(t, "OOB_TEST_KILL_AT="+point)
			enroll := func() {
				waitFor(t, "the agent's screen", 30*time.Second, func() bool { return exists(d.screen) })
				runEnv(t, emu.env, "companion", "enroll", "--image", d.screen)
			}
			beforeEnrollment := point == "identity-read" || point == "shown"
			if !beforeEnrollment {
				enroll()
			}
			err := a.wait(t, "reaching "+point, 60*time.Second)
			if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != -1 {
				t.Fatalf("the agent was to be killed at %s; it exited with %v", point, err)
			}
			a = d.start(t)
			if point == "finalized" {
				// Killed after the device was recorded finalized, before its agent unit was
				// disabled: the marker keeps the agent from ever showing its code or running its
				// steps again (the unit's ConditionPathExists), and `oob-agent finalize`
				// completes the hand-over.
				if err := a.wait(t, "restarted, finalized", 30*time.Second); err != nil {
					t.Fatalf("restarted after the kill, the agent exited with %v", err)
				}
				if got := d.enabled(t, "kiosk.service"); got != "enabled" {
					t.Fatalf("workload unit is %q after the kill, want enabled", got)
				}
				run(t, "oob-agent", "finalize", "--config", d.config)
				d.assertFinalized(t)
				return
			}
			if beforeEnrollment {
				enroll()
			}
			if err := a.wait(t, "restarted after the kill", 60*time.Second); err != nil {
				t.Fatalf("restarted after the kill, the agent exited with %v", err)
			}
			d.assertFinalized(t)
		})
	}
}

// A disabled enrollment keeps the agent waiting, saying so, until it is enabled; `oob-agent done`
// reads the agent's status and asks for an attempt now.
func TestFirstBootWaitsWhileDisabled(t *testing.T) {
	emu := startEmulator(t)
	d := newDevice(t, emu)
	a := d.start(t)
	waitFor(t, "the agent's screen", 30*time.Second, func() bool { return exists(d.screen) })
	said := run(t, "oob-agent", "done", "--config", d.config)
	if !strings.Contains(said, "Waiting for enrollment") {
		t.Fatalf("before enrollment the agent said %q", said)
	}
	runEnv(t, emu.env, "companion", "enroll", "--image", d.screen, "--disabled")
	waitFor(t, "the agent to see the disabled enrollment", 30*time.Second, func() bool {
		return strings.Contains(run(t, "oob-agent", "done", "--config", d.config), "Enrollment disabled: waiting for activation")
	})
	select {
	case <-a.exited:
		t.Fatalf("the agent stopped waiting while the enrollment was disabled: %v", a.err)
	default:
	}
	if exists(filepath.Join(d.state, "finalized")) {
		t.Fatal("finalized while the enrollment was disabled")
	}
	id := strings.TrimSpace(runEnv(t, emu.env, "companion", "enrollment", "list", "--format", "json"))
	var e struct {
		RegistrationID string `json:"registrationId"`
	}
	if err := json.Unmarshal([]byte(id), &e); err != nil {
		t.Fatal(err)
	}
	runEnv(t, emu.env, "companion", "enrollment", "enable", e.RegistrationID)
	run(t, "oob-agent", "done", "--config", d.config)
	if err := a.wait(t, "finalizing after the enrollment was enabled", 60*time.Second); err != nil {
		t.Fatalf("the agent exited with %v", err)
	}
	d.assertFinalized(t)
}

// SIGTERM stops a waiting agent cleanly (exit 0, its state saved); a workload unit that cannot be
// enabled leaves the device in out-of-box mode: the agent's unit enabled, nothing finalized.
func TestFirstBootStopsCleanlyAndRefusesABrokenWorkload(t *testing.T) {
	emu := startEmulator(t)
	d := newDevice(t, emu)
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	// A workload unit the image does not have.
	if err := os.WriteFile(d.config, []byte(strings.Replace(string(b), `"kiosk.service"`, `"missing.service"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	a := d.start(t)
	waitFor(t, "the agent's screen", 30*time.Second, func() bool { return exists(d.screen) })
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := a.wait(t, "SIGTERM", 30*time.Second); err != nil {
		t.Fatalf("after SIGTERM the agent exited with %v, want 0", err)
	}
	st, err := os.ReadFile(filepath.Join(d.state, "state.json"))
	if err != nil || !strings.Contains(string(st), `"stage": "shown"`) {
		t.Fatalf("state after SIGTERM: %s %v", st, err)
	}

	a = d.start(t)
	runEnv(t, emu.env, "companion", "enroll", "--image", d.screen)
	err = a.wait(t, "finalizing with a missing workload unit", 60*time.Second)
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("with a missing workload unit the agent exited with %v, want status 1", err)
	}
	if got := d.enabled(t, "oob-agent.service"); got != "enabled" {
		t.Errorf("agent unit is %q after a failed finalize, want enabled", got)
	}
	if exists(filepath.Join(d.state, "finalized")) {
		t.Error("finalized although the workload could not be enabled")
	}
	if !strings.Contains(a.logs.String(), "missing.service") {
		t.Errorf("the agent did not say which unit failed:\n%s", a.logs.String())
	}
}

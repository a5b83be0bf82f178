package finalize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/dbus"
)

// The D-Bus path can only be tested against a fake Manager: there is no systemd running as PID 1
// here (nor in CI's containers) to answer on the system bus. The fake keeps unit file states as
// systemd reports them and logs every call, so the tests check what is asked of systemd and in
// which order; the offline tests (systemctl_test.go) check the same steps on real unit files.
type fakeManager struct {
	states map[string]string // unit file name → state, as ListUnitFilesByPatterns reports it
	// startResult is the job result per unit; "done" when absent.
	startResult map[string]string
	calls       []string
}

func (m *fakeManager) ListUnitFilesByPatternsContext(_ context.Context, states, patterns []string) ([]dbus.UnitFile, error) {
	m.calls = append(m.calls, "list "+strings.Join(patterns, " "))
	var out []dbus.UnitFile
	for _, p := range patterns {
		if st, ok := m.states[p]; ok {
			out = append(out, dbus.UnitFile{Path: "/usr/lib/systemd/system/" + p, Type: st})
		}
	}
	return out, nil
}

func (m *fakeManager) EnableUnitFilesContext(_ context.Context, files []string, runtime, force bool) (bool, []dbus.EnableUnitFileChange, error) {
	m.calls = append(m.calls, fmt.Sprintf("enable %s runtime=%t force=%t", strings.Join(files, " "), runtime, force))
	install := true
	for _, f := range files {
		if at := strings.IndexByte(f, '@'); at >= 0 { // an instance: its template's file
			f = f[:at+1] + f[strings.LastIndexByte(f, '.'):]
		}
		switch m.states[f] {
		case "":
			return false, nil, fmt.Errorf("Unit file %s does not exist", f)
		case "static":
			install = false
		default:
			m.states[f] = "enabled"
		}
	}
	return install, nil, nil
}

func (m *fakeManager) DisableUnitFilesContext(_ context.Context, files []string, runtime bool) ([]dbus.DisableUnitFileChange, error) {
	m.calls = append(m.calls, fmt.Sprintf("disable %s runtime=%t", strings.Join(files, " "), runtime))
	for _, f := range files {
		m.states[f] = "disabled"
	}
	return nil, nil
}

func (m *fakeManager) ReloadContext(context.Context) error {
	m.calls = append(m.calls, "reload")
	return nil
}

func (m *fakeManager) StartUnitContext(_ context.Context, name, mode string, ch chan<- string) (int, error) {
	m.calls = append(m.calls, "start "+name+" "+mode)
	if ch != nil {
		result, ok := m.startResult[name]
		if !ok {
			result = "done"
		}
		ch <- result // go-systemd sends the job's result once it is removed
	}
	return 1, nil
}

func (m *fakeManager) mark(context.Context) error {
	m.calls = append(m.calls, "markFinalized")
	return nil
}

func live(t *testing.T, m *fakeManager, cfg Config) *Finalizer {
	t.Helper()
	f, err := New(cfg, Options{Manager: m})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBusRun(t *testing.T) {
	m := &fakeManager{states: map[string]string{"kiosk.service": "disabled", "getty@.service": "enabled", AgentUnit: "enabled"}}
	f := live(t, m, Config{Enable: []string{"kiosk", "getty@tty2"}, Disable: []string{AgentUnit}, Reboot: true})
	if err := f.Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"list kiosk.service",
		"list getty@.service", // an instance's unit file is its template's
		"enable kiosk.service runtime=false force=false",
		"enable getty@tty2.service runtime=false force=false",
		"reload",
		"start kiosk.service replace",
		"start getty@tty2.service replace",
		"markFinalized",
		"list oob-agent.service",
		"disable oob-agent.service runtime=false",
		"start reboot.target replace-irreversibly",
	}
	if got := strings.Join(m.calls, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestBusRunStopsBeforeMarking(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       *fakeManager
		want    error
		wantErr string
	}{
		{"start job failed", &fakeManager{
			states:      map[string]string{"kiosk.service": "disabled", AgentUnit: "enabled"},
			startResult: map[string]string{"kiosk.service": "failed"},
		}, ErrStartFailed, `cannot start kiosk.service: the unit did not start: its start job ended "failed"`},
		{"no install info", &fakeManager{
			states: map[string]string{"kiosk.service": "static", AgentUnit: "enabled"},
		}, ErrNoInstall, "cannot check kiosk.service"},
		{"no such unit", &fakeManager{
			states: map[string]string{AgentUnit: "enabled"},
		}, ErrUnitNotFound, "cannot check kiosk.service: no such unit file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := live(t, tc.m, Config{Enable: []string{"kiosk"}, Disable: []string{AgentUnit}, Reboot: true}).Run(context.Background(), tc.m.mark)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Run: %v, want %v (%q)", err, tc.want, tc.wantErr)
			}
			for _, c := range tc.m.calls {
				if c == "markFinalized" || strings.HasPrefix(c, "disable") || strings.Contains(c, "reboot") {
					t.Errorf("%q after a failed step", c)
				}
			}
			if tc.m.states[AgentUnit] != "enabled" {
				t.Error("the agent's unit was disabled")
			}
		})
	}
}

// EnableUnitFiles answering "no [Install] section" is an error even when the check passed (the
// unit file changed in between).
func TestBusEnableWithoutInstallInfo(t *testing.T) {
	err := bus{&staticOnEnable{fakeManager{states: map[string]string{"kiosk.service": "disabled"}}}}.enable(context.Background(), "kiosk.service")
	if !errors.Is(err, ErrNoInstall) {
		t.Errorf("enable: %v, want ErrNoInstall", err)
	}
}

type staticOnEnable struct{ fakeManager }

func (m *staticOnEnable) EnableUnitFilesContext(context.Context, []string, bool, bool) (bool, []dbus.EnableUnitFileChange, error) {
	return false, nil, nil
}

func TestBusDisableMissingUnit(t *testing.T) {
	m := &fakeManager{states: map[string]string{"kiosk.service": "enabled"}}
	if err := live(t, m, Config{Enable: []string{"kiosk"}, Disable: []string{"oob-agent-old.service"}}).Run(context.Background(), m.mark); err != nil {
		t.Fatal(err)
	}
	for _, c := range m.calls {
		if strings.HasPrefix(c, "disable") {
			t.Errorf("%q: a unit without a unit file is already disabled", c)
		}
	}
}

func TestBusRebootDelayCancelled(t *testing.T) {
	m := &fakeManager{states: map[string]string{"kiosk.service": "enabled"}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := live(t, m, Config{Enable: []string{"kiosk"}, Reboot: true, RebootDelay: time.Hour}).Run(ctx, m.mark)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v, want the context's error", err)
	}
	if last := m.calls[len(m.calls)-1]; last != "markFinalized" {
		t.Errorf("last call %q; the reboot should not have been asked for", last)
	}
}

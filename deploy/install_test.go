// Package deploy_test checks what `make install` lays into a root directory: the files an image
// build gets, their modes, the unit enabled there, and the unit and example config as systemd
// and the agent read them.
package deploy_test

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/finalize"
	"github.com/oobtpm/oob/pkg/firstboot"
)

func need(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("OOB_E2E") == "1" {
			t.Fatalf("%s is not installed (Debian package %s)", tool, pkg)
		}
		t.Skipf("%s is not installed (Debian package %s)", tool, pkg)
	}
}

func install(t *testing.T, destdir string, vars ...string) {
	t.Helper()
	args := append([]string{"-C", "..", "--no-print-directory", "install", "DESTDIR=" + destdir}, vars...)
	if out, err := exec.Command("make", args...).CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestMakeInstall(t *testing.T) {
	need(t, "make", "make")
	need(t, "systemctl", "systemd")
	root := t.TempDir()
	install(t, root)

	for _, f := range []struct {
		path string
		mode fs.FileMode
		same string // the source it is a copy of
	}{
		{"usr/bin/oob-agent", 0o755, ""},
		{"usr/lib/systemd/system/oob-agent.service", 0o644, "oob-agent.service"},
		{"etc/oob/agent.json", 0o644, "agent.json"},
		{"usr/share/doc/oob-agent/deploy.md", 0o644, "../docs/deploy.md"},
		{"var/lib/oob", fs.ModeDir | 0o700, ""},
	} {
		fi, err := os.Lstat(filepath.Join(root, f.path))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != f.mode {
			t.Errorf("%s: mode %s, want %s", f.path, fi.Mode(), f.mode)
		}
		if f.same != "" && !sameFile(t, filepath.Join(root, f.path), f.same) {
			t.Errorf("%s differs from deploy/%s", f.path, f.same)
		}
	}
	checkStatic(t, filepath.Join(root, "usr/bin/oob-agent"), elf.EM_X86_64)

	link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/oob-agent.service")
	if dest, err := os.Readlink(link); err != nil || dest != "/usr/lib/systemd/system/oob-agent.service" {
		t.Errorf("the unit is not enabled in the root: %s → %q, %v", link, dest, err)
	}

	// Installing again (a rebuilt image, an updated agent) keeps the device's own config.
	config := filepath.Join(root, "etc/oob/agent.json")
	if err := os.WriteFile(config, []byte(`{"version": 1, "dps": {"idScope": "0ne0000CAFE"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	install(t, root)
	if b, _ := os.ReadFile(config); !bytes.Contains(b, []byte("0ne0000CAFE")) {
		t.Error("make install overwrote an existing etc/oob/agent.json")
	}
}

func TestMakeInstallArch(t *testing.T) {
	need(t, "make", "make")
	need(t, "systemctl", "systemd")
	if testing.Short() {
		t.Skip("builds the agent for arm64")
	}
	root := t.TempDir()
	install(t, root, "ARCH=arm64")
	checkStatic(t, filepath.Join(root, "usr/bin/oob-agent"), elf.EM_AARCH64)
}

// checkStatic asserts that the agent is a static executable (CGO_ENABLED=0: no interpreter to
// find on the device) for the machine asked for.
func checkStatic(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s is built for %s, want %s", path, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", path)
		}
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// TestUnitVerifies runs systemd-analyze verify on the installed unit. It works offline: with
// --root it reads the unit and checks the ExecStart binary inside the root, but it also loads
// the units the service depends on (sysinit.target, …), so the host's own unit files are copied
// under the root's lib/systemd/system, which systemd also searches.
func TestUnitVerifies(t *testing.T) {
	need(t, "make", "make")
	need(t, "systemctl", "systemd")
	need(t, "systemd-analyze", "systemd")
	host := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(host, "sysinit.target")); err != nil {
		t.Skipf("no systemd unit files on this machine to verify against: %v", err)
	}
	root := t.TempDir()
	install(t, root)
	if err := os.CopyFS(filepath.Join(root, "lib/systemd/system"), os.DirFS(host)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "--man=no", "verify", "--root="+root, "oob-agent.service").CombinedOutput()
	// Warnings (an unknown key, a misspelt directive) do not change the exit status: any output
	// about the unit fails the test.
	if err != nil || bytes.Contains(out, []byte("oob-agent")) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestExampleConfig reads deploy/agent.json as the agent does, and its finalize section as
// pkg/finalize does.
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("agent.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := firstboot.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StateDir != "/var/lib/oob" {
		t.Errorf("stateDir %q: the unit's ConditionPathExists and StateDirectory expect /var/lib/oob", cfg.StateDir)
	}
	f, err := finalize.Parse(cfg.Finalize)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Disable) != 1 || f.Disable[0] != finalize.AgentUnit {
		t.Errorf("the example does not disable %s: %+v", finalize.AgentUnit, f)
	}
	// The unit's conditions are the markers pkg/firstboot writes: it starts until the device is
	// finalized, or while a reboot is owed.
	unit, err := os.ReadFile("oob-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ConditionPathExists=|!" + filepath.Join(cfg.StateDir, firstboot.FinalizedFile),
		"ConditionPathExists=|" + filepath.Join(cfg.StateDir, firstboot.RebootOwedFile),
		"RestartForceExitStatus=SIGHUP",
	} {
		if !bytes.Contains(unit, []byte(want+"\n")) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 6 {
		t.Errorf("agent.json has %d members, want the 6 of the documented example (%v)", len(raw), err)
	}
}

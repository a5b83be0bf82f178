package deploy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// TestDeb builds the amd64 package with `make deb` and checks it with Debian's own tools: what
// dpkg-deb shows in it, what lintian says of it, and what dpkg does with it in a throwaway root
// (the unit enabled, by the presets where the root has systemctl; choices kept on reinstall;
// config and state gone on purge). That nothing is started is TestMaintainerScripts' part: in a
// root nothing could be.
func TestDeb(t *testing.T) {
	need(t, "make", "make")
	need(t, "dpkg-deb", "dpkg")
	if testing.Short() {
		t.Skip("builds the agent and its package")
	}
	deb := makeDeb(t)

	t.Run("contents", func(t *testing.T) { checkDebContents(t, deb) })
	t.Run("control", func(t *testing.T) { checkDebControl(t, deb) })
	t.Run("reproducible", func(t *testing.T) {
		// The same commit makes the same package: file dates are the commit's, compressed
		// files carry no time.
		if again := makeDeb(t); !sameFile(t, again, deb) {
			t.Errorf("two builds of the same commit differ: %s, %s", deb, again)
		}
	})
	t.Run("lintian", func(t *testing.T) {
		need(t, "lintian", "lintian")
		checkLintian(t, deb)
	})
	t.Run("install and purge", func(t *testing.T) {
		needRoot(t)
		checkInstallPurge(t, deb)
	})
	t.Run("reinstall keeps choices", func(t *testing.T) {
		needRoot(t)
		checkReinstall(t, deb)
	})
	t.Run("presets", func(t *testing.T) {
		needRoot(t)
		need(t, "systemctl", "systemd")
		checkPresets(t, deb)
	})
}

func makeDeb(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	args := []string{"-C", "..", "--no-print-directory", "deb", "DEB_ARCHES=amd64", "DEB_DIR=" + out}
	if b, err := exec.Command("make", args...).CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "oob-agent_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v in %s, want one oob-agent_VERSION_amd64.deb", debs, out)
	}
	return debs[0]
}

func needRoot(t *testing.T) {
	t.Helper()
	need(t, "dpkg", "dpkg")
	if os.Geteuid() != 0 {
		t.Skip("installing a package with dpkg --root needs root")
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

// The package's files as `dpkg-deb --contents` lists them, and copies of the sources.
func checkDebContents(t *testing.T, deb string) {
	want := map[string]struct {
		mode string
		same string // the file in the repository it is a copy of
	}{
		"./usr/bin/oob-agent":                                 {"-rwxr-xr-x", ""},
		"./usr/lib/systemd/system/oob-agent.service":          {"-rw-r--r--", "oob-agent.service"},
		"./usr/lib/systemd/system-preset/80-oob-agent.preset": {"-rw-r--r--", "deb/oob-agent.preset"},
		"./etc/oob/agent.json":                                {"-rw-r--r--", "agent.json"},
		"./usr/share/doc/oob-agent/deploy.md":                 {"-rw-r--r--", "../docs/deploy.md"},
		"./usr/share/doc/oob-agent/copyright":                 {"-rw-r--r--", "deb/copyright"},
		"./usr/share/doc/oob-agent/changelog.Debian.gz":       {"-rw-r--r--", ""},
		"./usr/share/man/man8/oob-agent.8.gz":                 {"-rw-r--r--", ""},
		"./usr/share/lintian/overrides/oob-agent":             {"-rw-r--r--", "deb/lintian-overrides"},
	}
	var files []string
	sc := bufio.NewScanner(strings.NewReader(run(t, "dpkg-deb", "--contents", deb)))
	for sc.Scan() {
		// drwxr-xr-x root/root 0 2026-12-03 12:59 ./etc/
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb --contents: %q", sc.Text())
		}
		mode, owner, path := f[0], f[1], f[5]
		if owner != "root/root" {
			t.Errorf("%s is owned by %s, want root/root", path, owner)
		}
		if strings.HasPrefix(mode, "d") {
			if mode != "drwxr-xr-x" {
				t.Errorf("directory %s has mode %s", path, mode)
			}
			continue
		}
		files = append(files, path)
		w, ok := want[path]
		if !ok {
			t.Errorf("the package has %s %s, which this test does not know", mode, path)
		} else if mode != w.mode {
			t.Errorf("%s: mode %s, want %s", path, mode, w.mode)
		}
	}
	if len(files) != len(want) {
		t.Errorf("the package has %d files, want %d: %v", len(files), len(want), files)
	}

	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	for path, w := range want {
		if w.same != "" && !sameFile(t, filepath.Join(root, path), w.same) {
			t.Errorf("%s differs from deploy/%s", path, w.same)
		}
	}
	agent := filepath.Join(root, "usr/bin/oob-agent")
	checkStatic(t, agent, elf.EM_X86_64)
	// The same build as the Makefile's: its version is the commit's `git describe`.
	describe := strings.TrimSpace(run(t, "git", "describe", "--always", "--dirty"))
	if v := run(t, agent, "--version"); !strings.Contains(v, describe) {
		t.Errorf("oob-agent --version says %q, want the commit's %s", v, describe)
	}
	checkCopyright(t, agent, filepath.Join(root, "usr/share/doc/oob-agent/copyright"))
	checkManual(t, agent, filepath.Join(root, "usr/share/man/man8/oob-agent.8.gz"))
}

// checkManual asserts that the manual page describes every command the agent has.
func checkManual(t *testing.T, agent, page string) {
	t.Helper()
	text := string(gunzip(t, page))
	help := run(t, agent, "--help")
	_, commands, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		t.Fatalf("oob-agent --help lists no commands:\n%s", help)
	}
	commands, _, _ = strings.Cut(commands, "\n\n")
	for _, line := range strings.Split(commands, "\n") {
		name := strings.Fields(line)[0]
		if name == "help" || name == "completion" {
			continue
		}
		if !strings.Contains(text, "\n.B "+name+"\n") {
			t.Errorf("the manual page does not describe oob-agent %s (deploy/oob-agent.8)", name)
		}
	}
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCopyright asserts that the copyright file names every Go module linked into the agent
// (a "Files: MODULE/*" pattern, or one for a prefix of it), and no module the agent does not
// link: a new dependency brings its licence into the package, a dropped one takes it out.
func checkCopyright(t *testing.T, agent, copyright string) {
	t.Helper()
	info, err := buildinfo.ReadFile(agent)
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(copyright)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(text), "\n") {
		if files, ok := strings.CutPrefix(line, "Files: "); ok {
			patterns = append(patterns, strings.Fields(files)...)
		}
	}
	if len(info.Deps) == 0 {
		t.Fatal("the agent has no module information")
	}
	for _, dep := range info.Deps {
		covered := slices.ContainsFunc(patterns, func(p string) bool {
			prefix, ok := strings.CutSuffix(p, "*")
			return ok && prefix != "" && strings.HasPrefix(dep.Path+"/", prefix)
		})
		if !covered {
			t.Errorf("deploy/deb/copyright has no Files: stanza for %s %s, linked into the agent", dep.Path, dep.Version)
		}
	}
	for _, p := range patterns {
		// Module paths begin with a host name; the others are the repository's own files.
		host, _, _ := strings.Cut(p, "/")
		if !strings.Contains(host, ".") {
			continue
		}
		linked := slices.ContainsFunc(info.Deps, func(dep *debug.Module) bool {
			return strings.HasPrefix(dep.Path+"/", strings.TrimSuffix(p, "*"))
		})
		if !linked {
			t.Errorf("deploy/deb/copyright has a Files: stanza for %s, which the agent does not link", p)
		}
	}
}

// The control archive: the fields, the conffile, and the maintainer scripts from deploy/deb.
func checkDebControl(t *testing.T, deb string) {
	fields := run(t, "dpkg-deb", "--showformat=${Package} ${Architecture} ${Version}", "--show", deb)
	f := strings.Fields(fields)
	if len(f) != 3 || f[0] != "oob-agent" || f[1] != "amd64" || !strings.HasSuffix(f[2], "-1") {
		t.Errorf("dpkg-deb --show: %q, want oob-agent amd64 VERSION-1", fields)
	}
	if name := filepath.Base(deb); len(f) == 3 && name != "oob-agent_"+f[2]+"_amd64.deb" {
		t.Errorf("the package is named %s, want oob-agent_%s_amd64.deb", name, f[2])
	}

	dir := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, dir)
	if b, err := os.ReadFile(filepath.Join(dir, "conffiles")); err != nil || string(b) != "/etc/oob/agent.json\n" {
		t.Errorf("conffiles: %q, %v; want /etc/oob/agent.json alone", b, err)
	}
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		fi, err := os.Stat(filepath.Join(dir, script))
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != 0o755 {
			t.Errorf("%s: mode %s, want 0755", script, fi.Mode())
		}
		if !sameFile(t, filepath.Join(dir, script), filepath.Join("deb", script)) {
			t.Errorf("%s differs from deploy/deb/%s", script, script)
		}
	}
	for _, script := range []string{"preinst", "config", "triggers"} {
		if fileExists(filepath.Join(dir, script)) {
			t.Errorf("the package has a %s this test does not expect", script)
		}
	}

	// The changelog's version is the package's.
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	text := gunzip(t, filepath.Join(root, "usr/share/doc/oob-agent/changelog.Debian.gz"))
	if len(f) == 3 && !bytes.HasPrefix(text, []byte("oob-agent ("+f[2]+") ")) {
		t.Errorf("changelog.Debian.gz begins %q, want the package's version %s", text, f[2])
	}
}

// lintian reports no error and no warning; what the package overrides is in
// deploy/deb/lintian-overrides, each with its reason.
func checkLintian(t *testing.T, deb string) {
	cmd := exec.Command("lintian", "--pedantic", "--display-info", "--fail-on", "error,warning", deb)
	out, err := cmd.CombinedOutput()
	var bad []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			bad = append(bad, line)
		} else if line != "" {
			t.Log(line)
		}
	}
	if err != nil || len(bad) > 0 {
		t.Errorf("lintian: %v\n%s", err, strings.Join(bad, "\n"))
	}
}

// emptyRoot makes a directory dpkg --root can install into: an empty package database.
func emptyRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// dpkg runs dpkg on the root as an image build does without a chroot: the maintainer scripts
// run on this machine with DPKG_ROOT set.
func dpkg(t *testing.T, root string, args ...string) string {
	t.Helper()
	return run(t, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless", "--log=/dev/null"}, args...)...)
}

func isEnabled(t *testing.T, root string) string {
	t.Helper()
	// is-enabled exits 1 for a disabled unit: the word it prints is what counts.
	out, _ := exec.Command("systemctl", "--root="+root, "is-enabled", "oob-agent.service").Output()
	return strings.TrimSpace(string(out))
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

const wantsLink = "etc/systemd/system/multi-user.target.wants/oob-agent.service"

// A root without systemctl (deb-systemd-helper makes the links itself): the unit is enabled;
// remove keeps the config and the agent's state; purge removes both and the enablement.
func checkInstallPurge(t *testing.T, deb string) {
	need(t, "systemctl", "systemd")
	root := emptyRoot(t)
	dpkg(t, root, "--install", deb)

	if got := isEnabled(t, root); got != "enabled" {
		t.Errorf("after installation systemctl --root is-enabled says %q, want enabled", got)
	}
	if dest, err := os.Readlink(filepath.Join(root, wantsLink)); err != nil || dest != "/usr/lib/systemd/system/oob-agent.service" {
		t.Errorf("%s → %q, %v", wantsLink, dest, err)
	}
	status := dpkg(t, root, "--status", "oob-agent")
	if !strings.Contains(status, "Status: install ok installed\n") || !strings.Contains(status, "Conffiles:\n /etc/oob/agent.json ") {
		t.Errorf("dpkg --status after installation:\n%s", status)
	}

	// The state the agent writes on the device (StateDirectory=, 0700).
	state := filepath.Join(root, "var/lib/oob")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "finalized"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}

	dpkg(t, root, "--remove", "oob-agent")
	for _, gone := range []string{"usr/bin/oob-agent", "usr/lib/systemd/system/oob-agent.service"} {
		if fileExists(filepath.Join(root, gone)) {
			t.Errorf("%s is still there after dpkg --remove", gone)
		}
	}
	for _, kept := range []string{"etc/oob/agent.json", "var/lib/oob/finalized"} {
		if !fileExists(filepath.Join(root, kept)) {
			t.Errorf("dpkg --remove removed %s; only purge may", kept)
		}
	}
	if status := dpkg(t, root, "--status", "oob-agent"); !strings.Contains(status, "Status: deinstall ok config-files\n") {
		t.Errorf("dpkg --status after remove:\n%s", status)
	}

	dpkg(t, root, "--purge", "oob-agent")
	for _, gone := range []string{
		"etc/oob",
		"var/lib/oob",
		wantsLink,
		"var/lib/systemd/deb-systemd-helper-enabled/oob-agent.service.dsh-also",
	} {
		if fileExists(filepath.Join(root, gone)) {
			t.Errorf("%s is still there after dpkg --purge", gone)
		}
	}
	if out, err := exec.Command("dpkg", "--root="+root, "--status", "oob-agent").CombinedOutput(); err == nil {
		t.Errorf("dpkg still knows oob-agent after purge:\n%s", out)
	}
}

// Installing the package again (an upgrade, a rebuilt image) keeps what the device's owner
// chose: a unit disabled (as finalize leaves it) stays disabled, an edited config stays.
func checkReinstall(t *testing.T, deb string) {
	need(t, "systemctl", "systemd")
	root := emptyRoot(t)
	dpkg(t, root, "--install", deb)
	run(t, "systemctl", "--root="+root, "disable", "oob-agent.service")
	config := filepath.Join(root, "etc/oob/agent.json")
	if err := os.WriteFile(config, []byte(`{"version": 1, "dps": {"idScope": "0ne0000CAFE"}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	dpkg(t, root, "--force-confold", "--install", deb)
	if got := isEnabled(t, root); got != "disabled" {
		t.Errorf("after a reinstallation the disabled unit is %q, want disabled", got)
	}
	if b, _ := os.ReadFile(config); !bytes.Contains(b, []byte("0ne0000CAFE")) {
		t.Errorf("a reinstallation replaced the edited %s", config)
	}
}

// A root with systemctl: deb-systemd-helper enables the unit on its first installation by the
// root's presets (systemctl preset), so the package's preset decides, and an image's own
// preset file can overrule it.
func checkPresets(t *testing.T, deb string) {
	for _, tc := range []struct {
		name    string
		presets map[string]string // etc/systemd/system-preset/NAME → text
		want    string
	}{
		// Everything off unless a preset says otherwise (as Fedora and many image builds do):
		// the package's 80-oob-agent.preset turns it on.
		{"default off", map[string]string{"99-default.preset": "disable *\n"}, "enabled"},
		{"image says off", map[string]string{"10-image.preset": "disable oob-agent.service\n"}, "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := emptyRoot(t)
			// deb-systemd-helper uses systemctl when the root has one.
			if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			systemctl, err := exec.LookPath("systemctl")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(systemctl, filepath.Join(root, "usr/bin/systemctl")); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, "etc/systemd/system-preset")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, text := range tc.presets {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dpkg(t, root, "--install", deb)
			if got := isEnabled(t, root); got != tc.want {
				t.Errorf("systemctl --root is-enabled: %q, want %s", got, tc.want)
			}
		})
	}
}

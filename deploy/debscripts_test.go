package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMaintainerScripts runs deploy/deb's maintainer scripts as dpkg would on a system where
// systemd is running, and where it is not (an image build, a chroot), and records what they
// ask of systemd: deb-systemd-helper, deb-systemd-invoke and systemctl are stand-ins that log
// their arguments. A private mount namespace puts a tmpfs on /run, so that /run/systemd/system
// (systemd running) exists or not for the scripts alone. It proves the scripts' decisions, not
// systemd's: installing enables and never starts; an upgrade restarts only a running agent
// (try-restart); removing stops it.
func TestMaintainerScripts(t *testing.T) {
	need(t, "unshare", "util-linux")
	if os.Geteuid() != 0 {
		t.Skip("a mount namespace for /run needs root")
	}
	if err := exec.Command("unshare", "--mount", "true").Run(); err != nil {
		t.Skipf("this machine allows no mount namespace: %v", err)
	}
	stubs := t.TempDir()
	for _, tool := range []string{"deb-systemd-helper", "deb-systemd-invoke", "systemctl"} {
		stub := "#!/bin/sh\necho \"" + tool + " $*\" >>\"$CALLS\"\n"
		if err := os.WriteFile(filepath.Join(stubs, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	scripts, err := filepath.Abs("deb")
	if err != nil {
		t.Fatal(err)
	}

	const (
		wasEnabled  = "deb-systemd-helper --quiet was-enabled oob-agent.service"
		enable      = "deb-systemd-helper enable oob-agent.service"
		reload      = "systemctl --system daemon-reload"
		tryRestart  = "deb-systemd-invoke try-restart oob-agent.service"
		stop        = "deb-systemd-invoke stop oob-agent.service"
		purgeLinks  = "deb-systemd-helper purge oob-agent.service"
		systemdUp   = true
		systemdDown = false
	)
	for _, tc := range []struct {
		name     string
		systemd  bool
		dpkgRoot bool
		script   string
		args     []string
		want     []string
	}{
		{"install", systemdUp, false, "postinst", []string{"configure", ""}, []string{wasEnabled, enable, reload}},
		{"install in an image build", systemdDown, false, "postinst", []string{"configure", ""}, []string{wasEnabled, enable}},
		{"install with dpkg --root", systemdUp, true, "postinst", []string{"configure", ""}, []string{wasEnabled, enable}},
		{"upgrade", systemdUp, false, "postinst", []string{"configure", "0.1-1"}, []string{wasEnabled, enable, reload, tryRestart}},
		{"upgrade in an image build", systemdDown, false, "postinst", []string{"configure", "0.1-1"}, []string{wasEnabled, enable}},
		{"remove", systemdUp, false, "prerm", []string{"remove"}, []string{stop}},
		{"remove with dpkg --root", systemdUp, true, "prerm", []string{"remove"}, nil},
		{"upgrade, old prerm", systemdUp, false, "prerm", []string{"upgrade", "1.0-1"}, nil},
		{"removed", systemdUp, false, "postrm", []string{"remove"}, []string{reload}},
		{"removed in an image build", systemdDown, false, "postrm", []string{"remove"}, nil},
		{"purged", systemdDown, true, "postrm", []string{"purge"}, []string{purgeLinks}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := filepath.Join(t.TempDir(), "calls")
			setup := "mount -t tmpfs tmpfs /run"
			if tc.systemd {
				setup += " && mkdir -p /run/systemd/system"
			}
			dpkgRoot := ""
			if tc.dpkgRoot {
				dpkgRoot = t.TempDir()
				// The agent's state, which only a purge removes.
				if err := os.MkdirAll(filepath.Join(dpkgRoot, "var/lib/oob"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dpkgRoot, "var/lib/oob/finalized"), []byte("{}"), 0o600); err != nil {
					t.Fatal(err)
				}
			} else if tc.args[0] == "purge" {
				t.Fatal("a purge case must set DPKG_ROOT: postrm would remove this machine's /var/lib/oob")
			}
			cmd := exec.Command("unshare", append([]string{"--mount", "sh", "-c",
				setup + ` && exec sh "$0" "$@"`, filepath.Join(scripts, tc.script)}, tc.args...)...)
			cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"), "CALLS="+calls, "DPKG_ROOT="+dpkgRoot)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", tc.script, strings.Join(tc.args, " "), err, out)
			}
			b, err := os.ReadFile(calls)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			got := strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s %s asked systemd for\n  %q\nwant\n  %q", tc.script, strings.Join(tc.args, " "), got, tc.want)
			}
			if purged := !fileExists(filepath.Join(dpkgRoot, "var/lib/oob")); tc.dpkgRoot && purged != (tc.args[0] == "purge") {
				t.Errorf("%s %s: state directory removed %v, want %v", tc.script, strings.Join(tc.args, " "), purged, tc.args[0] == "purge")
			}
			for _, call := range got {
				if strings.Contains(call, " start ") || strings.Contains(call, " restart ") {
					t.Errorf("%s starts the agent: %s", tc.script, call)
				}
			}
		})
	}
}

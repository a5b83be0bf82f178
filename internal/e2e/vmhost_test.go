package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/testio"
)

// The VM test's host side: the image, QEMU, its serial console and its QMP socket. The guest
// is built and booted by scripts/vm/build-image.sh and scripts/vm/boot.sh, which a device maker
// can run by hand; this file only drives them.

// vmEnabled says whether the VM test runs: it takes minutes and builds a Debian image.
func vmEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv("OOB_VM") != "1" {
		t.Skip("boots a Debian image with the agent's package in QEMU (minutes; mmdebstrap, qemu-system-x86, swtpm): run it with make test-vm (OOB_VM=1)")
	}
}

// vmTool fails the test when a tool the VM test needs is missing: under OOB_VM=1 a missing tool
// is a broken set-up, not a reason to skip.
func vmTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is not installed (Debian package %s; scripts/deps.sh vm installs the VM test's tools)", name, pkg)
	}
}

func repoRoot() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..")
}

// vmCache is where images (and the emulator identity baked into them) are kept between runs.
func vmCache(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("OOB_VM_CACHE"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(home, ".cache", "oob-vm")
}

// agentDeb builds the agent's amd64 package with `make deb` into a temporary directory.
func agentDeb(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "deb", "DEB_ARCHES=amd64", "DEB_DIR="+out)
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "oob-agent_*_amd64.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v, want one oob-agent_*_amd64.deb", debs)
	}
	return debs[0]
}

// vmImage builds the image (or finds it in the cache) and returns its directory.
func vmImage(t *testing.T, deb, dataDir string) string {
	t.Helper()
	scope, err := os.ReadFile(filepath.Join(dataDir, "id-scope"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(repoRoot(), "scripts", "vm", "build-image.sh"),
		"--deb", deb, "--ca", filepath.Join(dataDir, "ca.pem"), "--id-scope", strings.TrimSpace(string(scope)))
	var stderr testio.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/vm/build-image.sh: %v\n%s", err, lastLines(stderr.String(), 40))
	}
	dir := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(dir, "rootfs.ext4")); err != nil {
		t.Fatalf("scripts/vm/build-image.sh printed %q, not the image's directory: %v", out, err)
	}
	return dir
}

// vm is a QEMU process running scripts/vm/boot.sh's machine.
type vm struct {
	run    string // boot.sh's --run directory
	accel  string // "kvm" or "tcg", as boot.sh chose
	start  time.Time
	cutAt  time.Time // when powerCut was first called
	serial *serialLog
	cmd    *exec.Cmd
	stderr *testio.Buffer
	exited chan struct{}
}

// bootVM starts the machine on the image with its disk and TPM in run, its network forwarded to
// the emulator's DPS and hub ports. QEMU (and swtpm with it) is killed when the test ends. A
// machine booted again on the same run directory (after a power cut) has a serial log of its
// own: the earlier boots' are kept as serial-1.log, serial-2.log and so on.
func bootVM(t *testing.T, image, run, dpsAddr, hubAddr string) *vm {
	t.Helper()
	if _, err := os.Stat(filepath.Join(run, "serial.log")); err == nil {
		earlier, _ := filepath.Glob(filepath.Join(run, "serial-*.log"))
		if err := os.Rename(filepath.Join(run, "serial.log"), filepath.Join(run, fmt.Sprintf("serial-%d.log", len(earlier)+1))); err != nil {
			t.Fatal(err)
		}
	}
	_, dpsPort, _ := net.SplitHostPort(dpsAddr)
	_, hubPort, _ := net.SplitHostPort(hubAddr)
	cmd := exec.Command(filepath.Join(repoRoot(), "scripts", "vm", "boot.sh"),
		"--image", image, "--run", run, "--dps-port", dpsPort, "--hub-port", hubPort)
	// Its own process group: boot.sh starts swtpm beside QEMU, and both go at the end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m := &vm{run: run, stderr: &testio.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = m.stderr, m.stderr
	m.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.cmd = cmd
	go func() { _ = cmd.Wait(); close(m.exited) }()
	t.Cleanup(func() {
		m.powerCut()
		if t.Failed() {
			t.Logf("boot.sh/QEMU output:\n%s", m.stderr)
			if b, err := os.ReadFile(filepath.Join(run, "serial.log")); err == nil {
				t.Logf("serial console (last lines):\n%s", lastLines(string(b), 80))
			}
		}
	})
	m.serial = watchSerial(t, filepath.Join(run, "serial.log"), m.exited)
	// The accelerator line comes before QEMU starts; the QMP socket once it runs.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if a := regexp.MustCompile(`boot\.sh: accel (\w+)`).FindStringSubmatch(m.stderr.String()); a != nil && m.accel == "" {
			m.accel = a[1]
		}
		if _, err := os.Stat(filepath.Join(run, "qmp.sock")); err == nil && m.accel != "" {
			return m
		}
		select {
		case <-m.exited:
			t.Fatalf("boot.sh exited before QEMU opened its QMP socket:\n%s", m.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("QEMU opened no QMP socket within 30s:\n%s", m.stderr)
		}
	}
}

// powerCut kills QEMU and swtpm at once (SIGKILL), as a pulled plug: what the guest had not
// flushed to its disk is lost, and so is the TPM's volatile state.
func (m *vm) powerCut() {
	if m.cutAt.IsZero() {
		m.cutAt = time.Now()
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	<-m.exited
}

// screendump writes the guest's framebuffer to a PNG file through QMP.
func (m *vm) screendump(t *testing.T, path string) {
	t.Helper()
	c, err := net.DialTimeout("unix", filepath.Join(m.run, "qmp.sock"), 5*time.Second)
	if err != nil {
		t.Fatalf("QMP: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	// The greeting, then capabilities negotiation, then the command; events in between are
	// skipped.
	if _, err := r.ReadBytes('\n'); err != nil {
		t.Fatalf("QMP greeting: %v", err)
	}
	for _, cmd := range []any{
		map[string]any{"execute": "qmp_capabilities"},
		map[string]any{"execute": "screendump", "arguments": map[string]any{"filename": path, "format": "png"}},
	} {
		b, _ := json.Marshal(cmd)
		if _, err := c.Write(append(b, '\n')); err != nil {
			t.Fatalf("QMP: %v", err)
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				t.Fatalf("QMP: %v", err)
			}
			var reply struct {
				Event  string          `json:"event"`
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Desc string `json:"desc"`
				} `json:"error"`
			}
			if err := json.Unmarshal(line, &reply); err != nil {
				t.Fatalf("QMP sent %q: %v", line, err)
			}
			if reply.Error != nil {
				t.Fatalf("QMP %s: %s", b, reply.Error.Desc)
			}
			if reply.Return != nil {
				break
			}
		}
	}
}

// serialLog follows QEMU's serial console file, line by line, noting when the test saw each.
type serialLog struct {
	mu    sync.Mutex
	lines []serialLine
	more  chan struct{} // closed and replaced when lines arrive
	done  <-chan struct{}
}

type serialLine struct {
	text string
	at   time.Time
}

// watchSerial reads path as QEMU appends to it, until done is closed or the test ends. A file
// gives no event for new data: it is read again every 50 ms, so a line's time is when it was
// written to within that.
func watchSerial(t *testing.T, path string, done <-chan struct{}) *serialLog {
	s := &serialLog{more: make(chan struct{}), done: done}
	stop := make(chan struct{})
	finished := make(chan struct{})
	t.Cleanup(func() { close(stop); <-finished })
	go func() {
		defer close(finished)
		var off int64
		var partial string
		for {
			if f, err := os.Open(path); err == nil {
				if _, err := f.Seek(off, 0); err == nil {
					b, _ := io.ReadAll(f)
					off += int64(len(b))
					text := partial + string(b)
					parts := strings.Split(text, "\n")
					partial = parts[len(parts)-1]
					if n := len(parts) - 1; n > 0 {
						now := time.Now()
						s.mu.Lock()
						for _, p := range parts[:n] {
							s.lines = append(s.lines, serialLine{strings.TrimRight(p, "\r"), now})
						}
						close(s.more)
						s.more = make(chan struct{})
						s.mu.Unlock()
					}
				}
				f.Close()
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return s
}

// waitFor returns the index and time of the first line at or after index from that matches re,
// failing the test if none comes within timeout or QEMU exits first.
func (s *serialLog) waitFor(t *testing.T, re *regexp.Regexp, from int, timeout time.Duration) (int, serialLine) {
	t.Helper()
	return s.waitUntil(t, re.MatchString, fmt.Sprintf("a line matching %q", re), from, timeout)
}

// waitUntil is waitFor with any test of a line; what says what is awaited, for the failure.
func (s *serialLog) waitUntil(t *testing.T, match func(string) bool, what string, from int, timeout time.Duration) (int, serialLine) {
	t.Helper()
	deadline := time.After(timeout)
	for i := from; ; {
		s.mu.Lock()
		for ; i < len(s.lines); i++ {
			if match(s.lines[i].text) {
				l := s.lines[i]
				s.mu.Unlock()
				return i, l
			}
		}
		more := s.more
		s.mu.Unlock()
		select {
		case <-more:
		case <-s.done:
			t.Fatalf("QEMU exited while the serial console was awaited for %s", what)
		case <-deadline:
			t.Fatalf("the serial console showed no %s within %v", what, timeout)
		}
	}
}

// since returns the lines from index from on.
func (s *serialLog) since(from int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines[min(from, len(s.lines)):] {
		out = append(out, l.text)
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[%d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

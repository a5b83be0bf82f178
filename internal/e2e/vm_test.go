package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest/emuproc"
	"github.com/oobtpm/oob/internal/qrtest"
)

// Serial console lines the image prints (scripts/vm/build-image.sh) and the kernel's and the
// agent's (journald forwards the agent's log to the serial console).
var (
	vmReport    = regexp.MustCompile(`oob-vm: boot (\S+) agent-enabled=(\S+) agent-invocation=(\S+) kiosk-enabled=(\S+)`)
	vmKiosk     = regexp.MustCompile(`oob-vm: kiosk active`)
	vmFinalized = regexp.MustCompile(`first boot: stage reached.*stage=finalized`)
	vmRestart   = regexp.MustCompile(`reboot: Restarting system`)
	vmAgentLog  = regexp.MustCompile(`oob-agent\[\d+\]`)
	vmMemPeak   = regexp.MustCompile(`oob-agent\[\d+\]: .*msg="peak resident memory" kib=(\d+)`)
)

// A device's first boot for real: a Debian image with the agent's package (make deb) boots in
// QEMU with a TPM 2.0 from swtpm; systemd starts oob-agent.service, whose QR code on the
// framebuffer is read from QEMU's screendump by `companion decode`; `companion enroll --image`
// enrolls it in the emulator; the agent registers by TPM attestation through /dev/tpmrm0,
// connects to the hub and finalizes; the guest reboots, and in its second boot the workload
// runs, the agent's unit is disabled and never started, the screen shows no code, and DPS
// holds one enrollment with one assigned registration. The guest's only network is two
// forwards to the emulator on the host's loopback. With OOB_VM_FIGURES=FILE the figures it
// measures go to FILE as JSON (vmFigures), for make bench.
func TestVMFirstBoot(t *testing.T) {
	rig := newVMRig(t)
	emu, env, image := rig.emu, rig.env, rig.image
	var figures vmFigures
	figures.Image = rig.built.Seconds()

	run := t.TempDir()
	m := bootVM(t, image, run, emu.Addr, emu.Hub)
	figures.Accel = m.accel
	t.Logf("QEMU accelerator: %s", m.accel)
	// TCG emulates every instruction: a boot takes minutes instead of seconds.
	slow := time.Duration(1)
	if m.accel != "kvm" {
		slow = 6
	}

	// The first boot: the code on the framebuffer.
	screen := filepath.Join(run, "screen.png")
	id := m.waitForCode(t, screen, slow*2*time.Minute)
	toQR := time.Since(m.start)
	figures.BootToQR = toQR.Seconds()
	t.Logf("boot to QR on the framebuffer: %v (registration ID %s)", toQR.Round(100*time.Millisecond), id.RegistrationID)
	_, first := m.serial.waitFor(t, vmReport, 0, time.Minute)
	if r := vmReport.FindStringSubmatch(first.text); r[2] != "enabled" || r[3] == "none" || r[4] != "disabled" {
		t.Errorf("first boot: %q; want the agent's unit enabled and started, the workload's disabled", first.text)
	}
	firstBoot := vmReport.FindStringSubmatch(first.text)[1]

	// The technician enrolls the device from the screen; the agent, retrying on its own,
	// registers, connects to the hub and finalizes.
	enrolled := time.Now()
	runEnv(t, env, "companion", "enroll", "--image", screen, "--format", "json")
	_, fin := m.serial.waitFor(t, vmFinalized, 0, slow*3*time.Minute)
	figures.EnrollToFinalized = fin.at.Sub(enrolled).Seconds()
	t.Logf("enrollment to finalized: %v", fin.at.Sub(enrolled).Round(100*time.Millisecond))

	// The reboot, and the second boot: the workload active, the agent's unit disabled and not
	// started at all in this boot.
	restartAt, restart := m.serial.waitFor(t, vmRestart, 0, slow*2*time.Minute)
	// The agent logs its peak resident memory when it ends, before the restart: a figure only
	// (no user sees it), so a missing line is logged rather than failed.
	figures.AgentPeakMiB = -1
	for _, line := range m.serial.since(0) {
		if p := vmMemPeak.FindStringSubmatch(line); p != nil {
			if n, err := strconv.ParseInt(p[1], 10, 64); err == nil {
				figures.AgentPeakMiB = float64(n) / 1024
			}
		}
	}
	if figures.AgentPeakMiB < 0 {
		t.Log("the agent's peak memory: no \"peak resident memory\" line from the agent on the serial console")
	} else {
		t.Logf("the agent's peak resident memory: %.1f MiB", figures.AgentPeakMiB)
	}
	_, kiosk := m.serial.waitFor(t, vmKiosk, restartAt, slow*3*time.Minute)
	figures.RebootToWorkload = kiosk.at.Sub(restart.at).Seconds()
	t.Logf("reboot to workload active: %v", kiosk.at.Sub(restart.at).Round(100*time.Millisecond))
	_, second := m.serial.waitFor(t, vmReport, restartAt, slow*time.Minute)
	r := vmReport.FindStringSubmatch(second.text)
	if r[1] == firstBoot {
		t.Fatalf("the report after the reboot has the first boot's ID %s", firstBoot)
	}
	if r[2] != "disabled" || r[3] != "none" || r[4] != "enabled" {
		t.Errorf("second boot: %q; want the agent's unit disabled and never started, the workload's enabled", second.text)
	}
	for _, line := range m.serial.since(restartAt) {
		if vmAgentLog.MatchString(line) {
			t.Errorf("the agent logged after the reboot: %q", line)
		}
	}

	// The screen after the hand-over shows no code.
	after := filepath.Join(run, "after.png")
	m.screendump(t, after)
	if _, _, err := runCode(t, nil, "companion", "decode", after); err == nil {
		qrtest.Keep(t, after)
		t.Error("the framebuffer still shows a QR code after the reboot")
	} else if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("companion decode of the screen after the reboot: %v, want exit status 3 (no code)", err)
	}

	// DPS: one enrollment, the device's, and its registration assigned to the hub.
	if es := enrollments(t, &emulator{env: env}); len(es) != 1 || es[0].RegistrationID != id.RegistrationID {
		t.Errorf("DPS holds enrollments %+v, want one for %s", es, id.RegistrationID)
	}
	var reg struct {
		Status      string `json:"status"`
		AssignedHub string `json:"assignedHub"`
	}
	out := runEnv(t, env, "companion", "registration", "show", id.RegistrationID, "--format", "json")
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.Status != "assigned" || reg.AssignedHub != "hub.oob.test" {
		t.Errorf("registration of %s: %s (%v); want assigned to hub.oob.test", id.RegistrationID, out, err)
	}
	if path := os.Getenv("OOB_VM_FIGURES"); path != "" && !t.Failed() {
		b, _ := json.Marshal(figures)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// vmFigures is what TestVMFirstBoot measures, in seconds and MiB; scripts/bench.sh prints them.
type vmFigures struct {
	Accel             string  `json:"accel"`
	Image             float64 `json:"imageSeconds"` // build-image.sh: a build, or the cache's answer
	BootToQR          float64 `json:"bootToQRSeconds"`
	EnrollToFinalized float64 `json:"enrollToFinalizedSeconds"`
	RebootToWorkload  float64 `json:"rebootToWorkloadSeconds"`
	AgentPeakMiB      float64 `json:"agentPeakMiB"`
}

// vmEmulator starts the emulator for the VM: DPS's certificate also names dps.oob.test (the
// guest's name for it) and devices are assigned to hub.oob.test. The image has the emulator's
// CA and ID scope baked in, so both are kept in the cache (seed/) and given to every run's
// fresh data directory: the image is not rebuilt for each run.
func vmEmulator(t *testing.T, cache string) *emuproc.Process {
	t.Helper()
	seed := filepath.Join(cache, "seed")
	dir := t.TempDir()
	seedFiles := []string{"ca.pem", "ca-key.pem", "id-scope"}
	seeded := true
	for _, f := range seedFiles {
		b, err := os.ReadFile(filepath.Join(seed, f))
		if err != nil {
			seeded = false
			break
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := emuproc.Start(t, filepath.Join(bin, "dps-emulator"), dir,
		"--admin-listen", "off", "--tls-name", "dps.oob.test", "--hub-hostname", "hub.oob.test")
	if !seeded {
		if err := os.MkdirAll(seed, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range seedFiles {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(seed, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return p
}

// decodedID is what `companion decode --format json` reports of a code.
type decodedID struct {
	RegistrationID string `json:"registrationId"`
}

// waitForCode polls the framebuffer, as a camera would see it (nothing else tells when the agent
// has drawn its code), until `companion decode` reads a code from it, which it returns; the
// screen stays in screen. The test fails if none comes within timeout or QEMU exits.
func (m *vm) waitForCode(t *testing.T, screen string, timeout time.Duration) decodedID {
	t.Helper()
	var id decodedID
	deadline := time.Now().Add(timeout)
	for {
		m.screendump(t, screen)
		stdout, stderr, err := runCode(t, nil, "companion", "decode", "--format", "json", screen)
		if err == nil {
			if err := json.Unmarshal([]byte(stdout), &id); err != nil || id.RegistrationID == "" {
				t.Fatalf("companion decode --format json: %q: %v", stdout, err)
			}
			return id
		}
		if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Logf("companion decode: %v: %s", err, strings.TrimSpace(stderr))
		}
		if time.Now().After(deadline) {
			qrtest.Keep(t, screen)
			t.Fatalf("no QR code on the framebuffer %v after QEMU started (last decode: %v %s)", time.Since(m.start).Round(time.Second), err, stderr)
		}
		select {
		case <-m.exited:
			t.Fatal("QEMU exited while its screen was awaited")
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// vmRig is what every VM test starts from: the emulator on the host, the service's settings
// for the companion (env), and the image, built or found in the cache.
type vmRig struct {
	emu   *emuproc.Process
	env   []string
	image string
	built time.Duration // build-image.sh's time: a build, or the cache's answer
}

func newVMRig(t *testing.T) *vmRig {
	t.Helper()
	vmEnabled(t)
	for _, tool := range [][2]string{
		{"mmdebstrap", "mmdebstrap"}, {"mkfs.ext4", "e2fsprogs"}, {"make", "make"},
		{"qemu-system-x86_64", "qemu-system-x86"}, {"qemu-img", "qemu-utils"},
		{"swtpm", "swtpm"}, {"swtpm_setup", "swtpm-tools"}, {"socat", "socat"},
	} {
		vmTool(t, tool[0], tool[1])
	}
	cache := vmCache(t)
	r := &vmRig{emu: vmEmulator(t, cache)}
	cs, err := os.ReadFile(filepath.Join(r.emu.Data, "service-connection-string"))
	if err != nil {
		t.Fatal(err)
	}
	r.env = []string{"DPS_CONNECTION_STRING=" + strings.TrimSpace(string(cs)), "DPS_CA_FILE=" + filepath.Join(r.emu.Data, "ca.pem")}
	start := time.Now()
	r.image = vmImage(t, agentDeb(t), r.emu.Data)
	r.built = time.Since(start)
	t.Logf("image %s (%v, cached when unchanged)", r.image, r.built.Round(time.Second))
	return r
}

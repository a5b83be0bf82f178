package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/firstboot"
)

// How far a device has come, as its serial console tells: a line's rank is the progress it
// shows, 0 for a line that shows none.
const (
	progAgent      = 1 + iota // the agent is running
	progShown                 // its code is on the screen
	progRegistered            // DPS assigned it
	progConnected             // its hub accepted it
	progFinalized             // handed over, the reboot to come
	progRestart               // the guest restarts
	progSettled               // a boot with the workload enabled and the agent's unit disabled, not started
)

var vmStage = regexp.MustCompile(`first boot: stage reached.*stage=(\S+)`)

func vmProgress(line string) int {
	if r := vmReport.FindStringSubmatch(line); r != nil {
		if r[2] == "disabled" && r[3] == "none" && r[4] == "enabled" {
			return progSettled
		}
		return 0
	}
	if vmRestart.MatchString(line) {
		return progRestart
	}
	if s := vmStage.FindStringSubmatch(line); s != nil {
		switch firstboot.Stage(s[1]) {
		case firstboot.StageShown:
			return progShown
		case firstboot.StageRegistered:
			return progRegistered
		case firstboot.StageConnected:
			return progConnected
		case firstboot.StageFinalized:
			return progFinalized
		}
	}
	if vmAgentLog.MatchString(line) {
		return progAgent
	}
	return 0
}

// vmCutPlan is where TestVMPowerCuts pulls the plug: each cut comes at a random moment within
// window (under TCG; a sixth of it under KVM) after the first line of its boot that shows at
// least from's progress (0: after power-on), or, with enroll, after the technician enrolls the
// code that line put on the screen. A device already past that point is cut relative to the
// first line that shows it further on; the windows are short because the stages are (the
// enrollment to finalized takes about 4 s under TCG).
var vmCutPlan = []struct {
	stage  string
	from   int
	enroll bool
	window time.Duration
}{
	{"booting: the kernel, systemd, the agent starting", 0, false, 25 * time.Second},
	{"the agent reading its TPM (EK and SRK made and persisted)", progAgent, false, 3 * time.Second},
	{"the code on the screen, not enrolled yet", progShown, false, 2 * time.Second},
	{"enrolled a moment before: the agent noticing, registering, importing DPS's key", progShown, true, 2500 * time.Millisecond},
	{"registered: connecting to the hub", progRegistered, false, time.Second},
	{"connected: finalizing", progConnected, false, time.Second},
	{"finalized: the reboot delay", progFinalized, false, 1500 * time.Millisecond},
	{"the reboot and the second boot", progRestart, false, 30 * time.Second},
}

// Persistent handles the agent makes (pkg/tpm): the SRK and DPS's key. The EKs are the TPM
// maker's (swtpm_setup's), in the endorsement range 0x8101xxxx.
const (
	handleSRK    = 0x81000001
	handleDPSKey = 0x81000100
	handleEK     = 0x81010001
)

// The first boot with the plug pulled (QEMU and swtpm killed by SIGKILL) at random moments in
// every stage, each cut followed by a boot on the same disk and TPM: after each cut the disk's
// file system is whole once its journal is replayed, the agent's state file is one it wrote and
// holds at least the stage the console last reported (what was saved is never lost), and the
// TPM's persistent handles are the maker's EKs and the agent's own; in the end the device
// settles as an uncut one does: one enrollment, its registration assigned, the workload
// enabled, the agent's unit disabled and not started, no code on the screen. The seed is
// logged with each cut's moment; OOB_VM_SEED=N repeats the same moments (the guest's own
// timing varies).
func TestVMPowerCuts(t *testing.T) {
	rig := newVMRig(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("OOB_VM_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("OOB_VM_SEED=%q: want a number", s)
		}
		seed = n
	}
	t.Logf("power cuts: seed %d (OOB_VM_SEED=%d repeats these moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))

	run := t.TempDir()
	screen := filepath.Join(run, "screen.png")
	var id string
	var maker []uint32 // the EK handles of the first reading, the same at every one after
	logged := firstboot.StageNew
	for i, cut := range vmCutPlan {
		m := bootVM(t, rig.image, run, rig.emu.Addr, rig.emu.Hub)
		slow := vmSlowness(m)
		window := cut.window * slow / 6
		anchor, what := m.start, "power-on"
		if cut.from > 0 {
			_, line := m.serial.waitUntil(t, func(l string) bool { return vmProgress(l) >= cut.from },
				fmt.Sprintf("line showing progress %d or more", cut.from), 0, slow*3*time.Minute)
			anchor, what = line.at, strconv.Quote(line.text)
		}
		if cut.enroll {
			// The technician scans the screen and enrolls the device: the cut comes while the
			// agent notices.
			id = m.waitForCode(t, screen, slow*time.Minute).RegistrationID
			runEnv(t, rig.env, "companion", "enroll", "--image", screen, "--format", "json")
			anchor, what = time.Now(), "the enrollment of "+id
		}
		delay := time.Duration(rng.Int64N(int64(window)))
		select {
		case <-time.After(time.Until(anchor.Add(delay))):
		case <-m.exited:
			t.Fatalf("cut %d: QEMU exited by itself", i+1)
		}
		m.powerCut()
		for _, line := range m.serial.since(0) {
			if s := vmStage.FindStringSubmatch(line); s != nil && firstboot.Stage(s[1]).AtLeast(logged) {
				logged = firstboot.Stage(s[1])
			}
		}
		at := fmt.Sprintf(", %.1fs after power-on", m.cutAt.Sub(m.start).Seconds())
		if cut.from == 0 {
			at = ""
		}
		t.Logf("cut %d (%s): %.2fs after %s%s; the console had last reported stage %s",
			i+1, cut.stage, delay.Seconds(), what, at, logged)

		d := readVMDevice(t, run)
		st := checkVMDevice(t, fmt.Sprintf("after cut %d", i+1), d, logged, id)
		if maker == nil {
			maker = makerHandles(d.handles)
		} else if got := makerHandles(d.handles); !slices.Equal(got, maker) {
			t.Errorf("after cut %d: the TPM's EK handles are %#x, were %#x", i+1, got, maker)
		}
		t.Logf("after cut %d: stage %s on disk, TPM persistent handles %#x, e2fsck exit %d", i+1, st.Stage, d.handles, d.fsck)
	}
	if id == "" {
		t.Fatal("the plan enrolled no device")
	}

	// Power on once more and leave it: the device settles as an uncut one does.
	m := bootVM(t, rig.image, run, rig.emu.Addr, rig.emu.Hub)
	slow := vmSlowness(m)
	_, settled := m.serial.waitUntil(t, func(l string) bool { return vmProgress(l) == progSettled },
		"boot report with the workload enabled and the agent's unit disabled, not started", 0, slow*4*time.Minute)
	t.Logf("settled %.1fs after the last power-on: %s", settled.at.Sub(m.start).Seconds(), settled.text)
	m.serial.waitFor(t, vmKiosk, 0, slow*time.Minute)
	after := filepath.Join(run, "after.png")
	m.screendump(t, after)
	if _, _, err := runCode(t, nil, "companion", "decode", after); err == nil {
		t.Error("the settled device's screen shows a QR code")
	}
	m.powerCut()

	d := readVMDevice(t, run)
	if st := checkVMDevice(t, "in the end", d, firstboot.StageFinalized, id); st.Stage != firstboot.StageFinalized {
		t.Errorf("in the end the state on disk is %s, want finalized", st.Stage)
	}
	if !slices.Contains(d.wants, "kiosk.service") || slices.Contains(d.wants, "oob-agent.service") {
		t.Errorf("in the end multi-user.target wants %v: want kiosk.service and not oob-agent.service", d.wants)
	}
	for _, h := range []uint32{handleEK, handleSRK, handleDPSKey} {
		if !slices.Contains(d.handles, h) {
			t.Errorf("in the end the TPM's persistent handles are %#x: %#x is missing", d.handles, h)
		}
	}
	if es := enrollments(t, &emulator{env: rig.env}); len(es) != 1 || es[0].RegistrationID != id {
		t.Errorf("DPS holds enrollments %+v, want one for %s", es, id)
	}
	var reg struct {
		Status      string `json:"status"`
		AssignedHub string `json:"assignedHub"`
	}
	out := runEnv(t, rig.env, "companion", "registration", "show", id, "--format", "json")
	if err := json.Unmarshal([]byte(out), &reg); err != nil || reg.Status != "assigned" || reg.AssignedHub != "hub.oob.test" {
		t.Errorf("registration of %s: %s (%v); want assigned to hub.oob.test", id, out, err)
	}
}

// checkVMDevice fails the test (saying when) unless the device read off the disk and TPM is
// whole: the file system repaired by its journal alone, a state file the agent can read at a
// stage no earlier than logged, for registration ID id (once known), and only the maker's and
// the agent's persistent handles. It returns the state.
func checkVMDevice(t *testing.T, when string, d vmDevice, logged firstboot.Stage, id string) firstboot.State {
	t.Helper()
	if d.fsck >= 4 {
		t.Errorf("%s: e2fsck left errors on the guest's file system (exit %d):\n%s", when, d.fsck, d.fsckOut)
	}
	st := firstboot.State{Stage: firstboot.StageNew}
	if d.stateDir != "" {
		var err error
		if st, err = firstboot.LoadState(d.stateDir); err != nil {
			b, _ := os.ReadFile(filepath.Join(d.stateDir, firstboot.StateFile))
			t.Fatalf("%s: the agent's state is damaged: %v\n%s", when, err, b)
		}
	}
	if !st.Stage.AtLeast(logged) {
		t.Errorf("%s: the state on disk is %s, but the console had reported %s: a saved stage was lost", when, st.Stage, logged)
	}
	if id != "" && st.RegistrationID != "" && st.RegistrationID != id {
		t.Errorf("%s: the state's registration ID is %s, the screen's %s", when, st.RegistrationID, id)
	}
	for _, h := range d.handles {
		if h != handleSRK && h != handleDPSKey && h>>16 != 0x8101 {
			t.Errorf("%s: the TPM holds persistent handle %#x, neither an EK nor the agent's", when, h)
		}
	}
	if names, err := os.ReadDir(d.stateDir); err == nil && d.stateDir != "" {
		var files []string
		for _, n := range names {
			files = append(files, n.Name())
		}
		t.Logf("%s: the state directory holds %s", when, strings.Join(files, " "))
	}
	return st
}

// makerHandles returns the handles in the endorsement range (the TPM maker's EKs).
func makerHandles(handles []uint32) []uint32 {
	var out []uint32
	for _, h := range handles {
		if h>>16 == 0x8101 {
			out = append(out, h)
		}
	}
	return out
}

// vmSlowness is how many times slower than KVM the machine runs: TCG emulates every
// instruction.
func vmSlowness(m *vm) time.Duration {
	if m.accel == "kvm" {
		return 1
	}
	return 6
}

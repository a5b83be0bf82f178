package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/scantest"
	"github.com/oobtpm/oob/pkg/identity"
)

// scanLine is one line of `companion scan --format json`.
type scanLine struct {
	Kind           string `json:"kind"`
	RegistrationID string `json:"registrationId"`
	DeviceID       string `json:"deviceId"`
	Number         int    `json:"number"`
	Outcome        string `json:"outcome"`
	Known          bool   `json:"known"`
	Error          string `json:"error"`
}

// done reports whether the line shows a device as done.
func (l scanLine) done() bool {
	return (l.Kind == "device" || l.Kind == "sent") && (l.Outcome == "created" || l.Outcome == "already-enrolled")
}

// journalLine is one record of `companion journal export --format json`.
type journalLine struct {
	Kind   string `json:"kind"`
	Device struct {
		RegistrationID string `json:"registrationId"`
	} `json:"device"`
	Outcome  string `json:"outcome"`
	Settings struct {
		DeviceID string `json:"deviceId"`
	} `json:"settings"`
}

// The scan killed with SIGKILL while it enrolls, three times, then run to the end: every device
// it showed as done was enrolled and in the journal at each kill, and at the end every device
// is enrolled exactly once, each with its own running number (a number given just before a
// kill is not given to another device after it).
func TestScanSurvivesKills(t *testing.T) {
	emu := startEmulator(t)
	// Each DPS request takes a while, so that a kill lands in the middle of an enrollment.
	emu.admin(t, http.MethodPut, "/admin/faults", `{"latency": "300ms"}`)
	ids, frames := deviceScreens(t, 8)
	jpath := filepath.Join(t.TempDir(), "journal.db")
	args := []string{"scan", "--images", frames, "--journal", jpath, "--device-id", "line-{n:2}", "--format", "json"}

	shownDone := map[string]string{} // registration ID → device ID, as reported
	resent := 0                      // enrollments a restarted scan sent from the queue
	for _, killAfter := range []int{1, 2, 2} {
		cmd := exec.Command(filepath.Join(bin, "companion"), args...)
		cmd.Env = append(os.Environ(), emu.env...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		seen := 0
		for seen < killAfter && sc.Scan() {
			var l scanLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("scan printed a line that is not JSON: %q", sc.Text())
			}
			if l.done() {
				shownDone[l.RegistrationID] = l.DeviceID
			}
			if l.Kind == "sent" {
				resent++
			}
			if l.Kind == "device" && !l.Known {
				seen++
			}
		}
		// The next device's enrollment is on its way (DPS takes 900 ms for one): kill in the
		// middle of it, not at the instant the line came, when nothing is under way yet.
		time.Sleep(150 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if seen < killAfter {
			t.Fatalf("the scan ended before it reported %d new devices", killAfter)
		}
		checkShownDone(t, emu, jpath, shownDone)
	}

	for _, l := range scanLines(t, runEnv(t, emu.env, "companion", args...)) {
		if l.done() {
			shownDone[l.RegistrationID] = l.DeviceID
		}
		if l.Kind == "sent" {
			resent++
		}
	}
	checkShownDone(t, emu, jpath, shownDone)
	// A kill in the middle of an enrollment left it queued, and the scan after it sent it.
	if resent == 0 {
		t.Error("no restarted scan sent an enrollment left queued by a kill: the kills missed the enrollments")
	}

	// Exactly the devices shown, once each, numbered 1 to 8 without a gap or a repeat.
	var got []string
	deviceIDs := map[string]bool{}
	for _, e := range enrollments(t, emu) {
		got = append(got, e.RegistrationID)
		deviceIDs[e.DeviceID] = true
	}
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("DPS holds %d enrollments %v, want exactly the %d devices shown %v", len(got), got, len(want), want)
	}
	for n := 1; n <= len(ids); n++ {
		if id := fmt.Sprintf("line-%02d", n); !deviceIDs[id] {
			t.Errorf("no device was enrolled as %s: running numbers %v", id, deviceIDs)
		}
	}
	if len(shownDone) != len(ids) {
		t.Errorf("the scans showed %d devices as done, want %d", len(shownDone), len(ids))
	}
}

// checkShownDone checks that every device shown as done is enrolled on DPS with the device ID
// reported, and settled in the journal.
func checkShownDone(t *testing.T, emu *emulator, jpath string, shownDone map[string]string) {
	t.Helper()
	settled := map[string]bool{}
	export := runEnv(t, nil, "companion", "journal", "export", "--format", "json", "--journal", jpath)
	for _, r := range jsonLines[journalLine](t, export, "journal export") {
		if (r.Kind == "attempt" || r.Kind == "sent") && r.Outcome != "failed" {
			settled[r.Device.RegistrationID] = true
		}
	}
	for id, deviceID := range shownDone {
		out := runEnv(t, emu.env, "companion", "enrollment", "show", id, "--format", "json")
		var e enrollment
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatal(err)
		}
		if e.DeviceID != deviceID {
			t.Errorf("%s was shown done as %q; DPS holds it as %q", id, deviceID, e.DeviceID)
		}
		if !settled[id] {
			t.Errorf("%s was shown done, but the journal has not settled it", id)
		}
	}
}

// deviceScreens draws n fresh devices' enrollment screens as a webcam sees them, one image
// each, into a folder, and returns their registration IDs and the folder.
func deviceScreens(t *testing.T, n int) ([]string, string) {
	t.Helper()
	var ids []string
	var shots []scantest.Segment
	for _, id := range scantest.Devices(t, n) {
		ids = append(ids, id.RegistrationID)
		shots = append(shots, scantest.Segment{Text: scantest.Payload(t, id, identity.FormatV1), Duration: time.Second})
	}
	return ids, scantest.Frames(t, shots, 1)
}

// On a real terminal, a scan of a live input shows a status line with the frame rate and the
// devices done while it runs, and clears it for its summary when the input ends.
func TestScanStatusLine(t *testing.T) {
	ffmpeg := qrtest.Tool(t, "ffmpeg", "ffmpeg")
	blank := qrtest.WritePNG(t, scantest.Picture(t, scantest.Segment{}), "blank.png")
	// A live input at its own pace (-re): a screen without a code, 15 frames a second for 4 s.
	input := "-re -loop 1 -framerate 15 -t 4 -i " + blank
	script := `PATH="$FFDIR:$PATH" "$COMPANION" scan --dry-run --ffmpeg-input "$INPUT"`
	tm := qrtest.StartTmux(t, qrtest.Tool(t, "tmux", "tmux"), 100, 10, script,
		"COMPANION="+filepath.Join(bin, "companion"), "INPUT="+input, "FFDIR="+filepath.Dir(ffmpeg))
	status := regexp.MustCompile(`^\d+ fps · 0 devices done$`)
	deadline := time.Now().Add(20 * time.Second)
	var seen string
	for seen == "" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // between captures: each is a tmux process
		g := tm.Capture()
		for y := range g {
			if status.MatchString(g.Text(y)) {
				seen = g.Text(y)
			}
		}
	}
	if seen == "" {
		t.Fatalf("no status line while scanning; the screen:\n%s", tm.Capture())
	}
	g, code := tm.Wait(30 * time.Second)
	if code != 0 {
		t.Fatalf("scan exited with %d:\n%s", code, g)
	}
	screen := g.String()
	if strings.Contains(screen, "fps ·") {
		t.Errorf("the status line is still on the screen after the scan:\n%s", screen)
	}
	if !strings.Contains(g.Flow(), "0 devices checked, nothing enrolled") {
		t.Errorf("no summary after the scan:\n%s", screen)
	}
}

// jsonLines reads a command's JSON lines output, what naming the command for failures.
func jsonLines[T any](t *testing.T, out, what string) []T {
	t.Helper()
	var lines []T
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s printed a line that is not what it should be: %q: %v", what, line, err)
		}
		lines = append(lines, v)
	}
	return lines
}

// scanLines reads `companion scan --format json` output.
func scanLines(t *testing.T, stdout string) []scanLine {
	t.Helper()
	return jsonLines[scanLine](t, stdout, "scan")
}

// enrollments lists the enrollments DPS holds.
func enrollments(t *testing.T, emu *emulator) []enrollment {
	t.Helper()
	return jsonLines[enrollment](t, runEnv(t, emu.env, "companion", "enrollment", "list", "--format", "json"), "enrollment list")
}

// enrolledIDs lists the registration IDs DPS holds, sorted.
func enrolledIDs(t *testing.T, emu *emulator) []string {
	t.Helper()
	var ids []string
	for _, e := range enrollments(t, emu) {
		ids = append(ids, e.RegistrationID)
	}
	slices.Sort(ids)
	return ids
}

// DPS unreachable for a whole scan: every device is queued in the journal, the scan says so and
// exits 1; companion sync sends them once DPS answers, though it throttles every fifth request:
// each device is enrolled once, a second sync sends nothing, and scanning the devices again
// changes nothing. Then DPS fails for the first seconds of a scan and comes back: the scan
// queues what it cannot send, sends it when DPS answers, and ends with nothing queued.
func TestScanQueuesWhileDPSIsAway(t *testing.T) {
	emu := startEmulator(t)
	ids, frames := deviceScreens(t, 5)
	jpath := filepath.Join(t.TempDir(), "journal.db")
	scan := []string{"scan", "--images", frames, "--journal", jpath, "--format", "json", "--timeout", "2s", "--settle-timeout", "1s"}

	emu.admin(t, http.MethodPut, "/admin/faults", `{"unavailableFor": "1h"}`)
	code, stdout, stderr := exitCode(t, emu.env, "companion", scan...)
	if code != 1 || !strings.Contains(stderr, "5 enrollments are still queued") || !strings.Contains(stderr, "companion sync") {
		t.Fatalf("scan with DPS away: exit %d, want 1 saying 5 are queued and to run companion sync\n%s", code, stderr)
	}
	for _, l := range scanLines(t, stdout) {
		if l.Kind != "device" || l.Outcome != "queued" || l.Error == "" {
			t.Errorf("scan with DPS away reported %+v, want each device queued with the reason", l)
		}
	}
	emu.admin(t, http.MethodDelete, "/admin/faults", "")
	if got := enrolledIDs(t, emu); len(got) != 0 {
		t.Fatalf("DPS was away, yet holds %v", got)
	}

	emu.admin(t, http.MethodPut, "/admin/faults", `{"throttleEvery": 5}`)
	created := 0
	for _, l := range scanLines(t, runEnv(t, emu.env, "companion", "sync", "--journal", jpath, "--format", "json")) {
		if l.Outcome == "created" {
			created++
		}
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	if got := enrolledIDs(t, emu); created != len(ids) || !slices.Equal(got, want) {
		t.Fatalf("sync created %d; DPS holds %v, want exactly %v", created, got, want)
	}
	_, stderr, err := runCode(t, emu.env, "companion", "sync", "--journal", jpath)
	if err != nil || !strings.Contains(stderr, "Nothing to send") {
		t.Fatalf("second sync: %v\n%s", err, stderr)
	}
	emu.admin(t, http.MethodDelete, "/admin/faults", "")
	for _, l := range scanLines(t, runEnv(t, emu.env, "companion", scan...)) {
		if !l.Known || l.Outcome != "already-enrolled" {
			t.Errorf("scanned again: %+v, want already enrolled, known from the journal", l)
		}
	}

	// DPS fails for the first 3 s of the next scan, then answers.
	more, frames2 := deviceScreens(t, 4)
	emu.admin(t, http.MethodPut, "/admin/faults", `{"unavailableFor": "3s", "retryAfter": "100ms"}`)
	scan2 := []string{"scan", "--images", frames2, "--journal", jpath, "--format", "json", "--timeout", "2s", "--settle-timeout", "1m"}
	queued, sent := 0, 0
	for _, l := range scanLines(t, runEnv(t, emu.env, "companion", scan2...)) {
		switch {
		case l.Kind == "device" && l.Outcome == "queued":
			queued++
		case l.Kind == "sent" && l.Outcome == "created":
			sent++
		case l.Kind == "device" && l.Outcome == "created":
		default:
			t.Errorf("scan while DPS came back: %+v", l)
		}
	}
	if queued == 0 || sent != queued {
		t.Errorf("the scan queued %d and sent %d from its queue; want some queued and all of them sent", queued, sent)
	}
	emu.admin(t, http.MethodDelete, "/admin/faults", "")
	want = append(want, more...)
	slices.Sort(want)
	if got := enrolledIDs(t, emu); !slices.Equal(got, want) {
		t.Fatalf("DPS holds %v, want exactly %v", got, want)
	}
}

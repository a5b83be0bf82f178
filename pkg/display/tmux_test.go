package display

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/term"
)

// TestTmuxHelperProcess is not a test: TestTerminalInTmux runs the test binary inside tmux
// with OOB_DISPLAY_HELPER set, and this draws the screen on that terminal, at the size the
// terminal reports, as the agent does.
func TestTmuxHelperProcess(t *testing.T) {
	if os.Getenv("OOB_DISPLAY_HELPER") == "" {
		return
	}
	cols, rows, err := term.GetSize(int(os.Stdout.Fd()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: terminal size:", err)
		os.Exit(2)
	}
	if err := RenderTerminal(os.Stdout, testScreen(t, os.Getenv("OOB_DISPLAY_HELPER")), TermSize{cols, rows}); err != nil {
		fmt.Println(err)
	}
	// Stay alive so the pane keeps the picture until the test has captured it.
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestTerminalInTmux draws the screen in a real terminal emulator, tmux, captures what tmux
// shows, and decodes it: the proof that a terminal turns the output into a readable code.
func TestTerminalInTmux(t *testing.T) {
	tmux := requireTool(t, "tmux", "tmux")
	const cols, rows = 200, 80
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A private server socket keeps the test away from any tmux the user is running.
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	run := func(args ...string) string {
		t.Helper()
		var out, stderr bytes.Buffer
		cmd := exec.Command(tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		return out.String()
	}
	helper := fmt.Sprintf("%q -test.run='^TestTmuxHelperProcess$'", exe)
	run("new-session", "-d", "-s", "oob", "-x", fmt.Sprint(cols), "-y", fmt.Sprint(rows),
		"-e", "OOB_DISPLAY_HELPER="+longPayload, helper)
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })

	s := testScreen(t, longPayload)
	var captured string
	for deadline := time.Now().Add(10 * time.Second); ; {
		// -e keeps the colours; -N keeps the white spaces of the quiet zone at the end of
		// each line, which tmux shows but capture-pane would otherwise trim.
		captured = run("capture-pane", "-p", "-e", "-N", "-t", "oob")
		if strings.Contains(captured, s.Status) || strings.Contains(captured, "display:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen did not appear in tmux within 10 s; the pane shows:\n%s", captured)
		}
		time.Sleep(50 * time.Millisecond)
	}
	grid := parseTerminal(t, captured, cols, rows)
	assertTextShown(t, grid, s)
	assertDecodes(t, writePNG(t, rasterize(grid, 4), "tmux.png"), longPayload)
}

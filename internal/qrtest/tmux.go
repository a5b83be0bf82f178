package qrtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tmux is a private tmux server showing one shell script on a pane of a fixed size: a real
// terminal emulator, whose screen a test captures as the user would see it.
type Tmux struct {
	tb         testing.TB
	path, sock string
	cols, rows int
}

// exitMarker is printed on the pane, with the script's exit status, when the script ends.
const exitMarker = "qrtest-script-exited-with-status-"

var exitLine = regexp.MustCompile(exitMarker + `(\d+)`)

// StartTmux runs script with sh in a new tmux session whose pane is cols×rows cells (no status
// line), with env (NAME=value) added to its environment; scripts refer to paths and arguments
// through such variables rather than quoting them. tmuxPath is the tmux program. When the
// script ends, a line with its exit status is printed on the pane, which then stays open, so
// Wait can capture the last screen. The server is stopped when the test ends.
func StartTmux(tb testing.TB, tmuxPath string, cols, rows int, script string, env ...string) *Tmux {
	tb.Helper()
	// A short directory of its own: the socket's path must fit in 108 bytes, which a deep
	// test temporary directory may not.
	dir, err := os.MkdirTemp("", "qrtest-tmux-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	conf := filepath.Join(dir, "tmux.conf")
	// No status line, so the pane is the whole session; the size is set before the script
	// starts, since the config is read when the server starts.
	if err := os.WriteFile(conf, []byte("set -g status off\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	t := &Tmux{tb: tb, path: tmuxPath, sock: filepath.Join(dir, "sock"), cols: cols, rows: rows}
	// After the script, print the marker and keep the pane open by reading the terminal,
	// which nothing writes to; the server's end closes it.
	wrapped := fmt.Sprintf("%s\nprintf '\\n%s%%d\\n' \"$?\"\nexec cat >/dev/null", script, exitMarker)
	args := []string{"-f", conf, "new-session", "-d", "-s", "qrtest",
		"-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, "sh", "-c", wrapped)
	t.tmux(args...)
	tb.Cleanup(func() { exec.Command(tmuxPath, "-S", t.sock, "kill-server").Run() })
	return t
}

// tmux runs a tmux command against the private server and returns its output.
func (t *Tmux) tmux(args ...string) string {
	t.tb.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command(t.path, append([]string{"-S", t.sock}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.tb.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

// Capture returns the pane's screen as it is now, colours included.
func (t *Tmux) Capture() Grid {
	t.tb.Helper()
	// -e keeps the colours; -N keeps the spaces at the end of each line (the quiet zone),
	// which tmux shows but capture-pane would otherwise trim.
	return ParseCapture(t.tb, t.tmux("capture-pane", "-p", "-e", "-N", "-t", "qrtest"), t.cols, t.rows)
}

// Wait captures the pane until the script's exit line shows, and returns the screen and the
// script's exit status. It fails the test if the script has not ended within timeout.
func (t *Tmux) Wait(timeout time.Duration) (Grid, int) {
	t.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		g := t.Capture()
		if m := exitLine.FindStringSubmatch(g.String()); m != nil {
			status, _ := strconv.Atoi(m[1])
			return g, status
		}
		if time.Now().After(deadline) {
			t.tb.Fatalf("the script had not ended after %v; the pane shows:\n%s", timeout, g)
		}
		time.Sleep(20 * time.Millisecond) // poll: the exit line is the signal, not the time
	}
}

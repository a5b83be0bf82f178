package display

import (
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/term"

	"github.com/oobtpm/oob/internal/qrtest"
)

// TestTmuxHelperProcess is not a test: TestTerminalInTmux runs the test binary inside tmux
// with OOB_DISPLAY_HELPER set to a payload, and this draws the screen on that terminal, at
// the size the terminal reports, as the agent does: full screen when OOB_DISPLAY_FULLSCREEN
// is set, inline otherwise.
func TestTmuxHelperProcess(t *testing.T) {
	if os.Getenv("OOB_DISPLAY_HELPER") == "" {
		return
	}
	cols, rows, err := term.GetSize(int(os.Stdout.Fd()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: terminal size:", err)
		os.Exit(2)
	}
	render := RenderTerminal
	if os.Getenv("OOB_DISPLAY_FULLSCREEN") != "" {
		render = RenderTerminalFullScreen
	}
	if err := render(os.Stdout, testScreen(t, os.Getenv("OOB_DISPLAY_HELPER")), TermSize{cols, rows}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Exit before the testing package prints its verdict on the terminal.
	os.Exit(0)
}

// TestTerminalInTmux draws the screen in a real terminal emulator, tmux, after some earlier
// output, captures what tmux shows, and decodes it: the proof that a terminal turns the
// output into a readable code, and that only the full-screen mode replaces what was there.
func TestTerminalInTmux(t *testing.T) {
	tmux := qrtest.Tool(t, "tmux", "tmux")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := testScreen(t, longPayload)
	for _, tc := range []struct {
		name       string
		fullscreen string
	}{
		{"inline", ""},
		{"fullscreen", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := qrtest.StartTmux(t, tmux, 200, 80,
				`echo "earlier output"; "$EXE" -test.run='^TestTmuxHelperProcess$'`,
				"EXE="+exe, "OOB_DISPLAY_HELPER="+longPayload, "OOB_DISPLAY_FULLSCREEN="+tc.fullscreen)
			grid, status := tm.Wait(10 * time.Second)
			if status != 0 {
				t.Fatalf("drawing failed with status %d; the pane shows:\n%s", status, grid)
			}
			if kept := grid.Text(0) == "earlier output"; kept != (tc.fullscreen == "") {
				t.Errorf("earlier output kept: %v; the pane shows:\n%s", kept, grid)
			}
			assertTextShown(t, grid, s)
			qrtest.AssertDecodes(t, qrtest.WritePNG(t, grid.Image(4), "tmux.png"), longPayload)
		})
	}
}

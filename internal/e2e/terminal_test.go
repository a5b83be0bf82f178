package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
)

// showInTmux runs `oob-agent show --tpm spec` with extra arguments on a real terminal of
// cols×rows cells, after a line of earlier output, and returns what the terminal shows once
// the agent has exited, and its exit status.
func showInTmux(t *testing.T, spec string, cols, rows int, extra ...string) (qrtest.Grid, int) {
	t.Helper()
	// Arguments reach the script as variables, so none needs quoting for the shell.
	script := `echo "earlier output"; "$AGENT" show --tpm "$SPEC"`
	env := []string{"AGENT=" + filepath.Join(bin, "oob-agent"), "SPEC=" + spec}
	for i, a := range extra {
		v := "ARG" + string(rune('A'+i))
		script += ` "$` + v + `"`
		env = append(env, v+"="+a)
	}
	tm := qrtest.StartTmux(t, qrtest.Tool(t, "tmux", "tmux"), cols, rows, script, env...)
	return tm.Wait(30 * time.Second)
}

// On a real terminal the code the agent draws decodes, with both reference decoders, to the
// payload the agent reports; the companion reads the identity back from it; the title,
// registration ID and status are readable as text; and by default the agent draws after what
// the terminal showed, while --fullscreen clears it.
func TestShowTerminalDecodes(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	for _, tc := range []struct {
		name string
		// identity are flags that change the identity in the code; display, how it is shown.
		identity, display []string
	}{
		{"inline", nil, []string{"--output", "terminal"}},
		{"inline with label and OEM registration ID", []string{"--label", "Line 3/unit 42", "--registration-id", "factory-7.unit_42"}, nil},
		{"fullscreen", nil, []string{"--fullscreen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := agentIdentityJSON(t, spec, tc.identity...)
			grid, status := showInTmux(t, spec, 200, 80, append(tc.identity, tc.display...)...)
			if status != 0 {
				t.Fatalf("oob-agent show exited with status %d; the terminal shows:\n%s", status, grid)
			}

			screen := grid.String()
			for _, want := range []string{"Scan to enroll this device", "Registration ID: " + id.RegistrationID, "Waiting for enrollment"} {
				if !strings.Contains(screen, want) {
					t.Errorf("the terminal does not show %q:\n%s", want, screen)
				}
			}
			fullscreen := tc.name == "fullscreen"
			if kept := grid.Text(0) == "earlier output"; kept == fullscreen {
				t.Errorf("earlier output kept: %v, want %v; the terminal shows:\n%s", kept, !fullscreen, screen)
			}
			if !fullscreen && grid.Text(1) != "Scan to enroll this device" {
				t.Errorf("the title is not on the line after the earlier output:\n%s", screen)
			}

			assertReadsBack(t, qrtest.WritePNG(t, grid.Image(4), "terminal.png"), id)
		})
	}
}

// A terminal too small for the code gets an error that says so and what to do, a non-zero
// exit, and no broken code.
// Inline, the code needs 73×41: 37 rows of code, the title, registration ID and status, and
// the row the cursor ends on.
func TestShowTerminalTooSmall(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	for _, size := range []struct{ cols, rows int }{{60, 30}, {200, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			grid, status := showInTmux(t, spec, size.cols, size.rows)
			if status != 1 {
				t.Errorf("oob-agent show exited with status %d, want 1", status)
			}
			msg := grid.Flow()
			for _, want := range []string{
				fmt.Sprintf("the terminal is %d×%d (columns×rows) but the QR code needs 73×41", size.cols, size.rows),
				"enlarge the terminal or use a smaller font",
				"--output png",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("the terminal does not say %q:\n%s", want, grid)
				}
			}
			if grid.HasBlocks() {
				t.Errorf("part of a code was drawn on a terminal too small for it:\n%s", grid)
			}
		})
	}
}

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
)

// The frame the agent writes to a file standing in for /dev/fb0, read back with only the
// pixel layout the mode names, decodes with both reference decoders to the payload the agent
// reports, and the companion reads the identity back from it.
func TestShowFramebufferDecodes(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	id := agentIdentityJSON(t, spec)
	padded := qrtest.RGB565(800, 480)
	padded.Stride = 1664 // drivers pad lines for alignment
	for _, tc := range []struct {
		mode   string
		layout qrtest.RawFormat
	}{
		{"800x480x32", qrtest.XRGB8888(800, 480)},
		{"800x480x16", qrtest.RGB565(800, 480)},
		{"800x480x16:1664", padded},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			fb := filepath.Join(t.TempDir(), "fb0")
			out := run(t, "oob-agent", "show", "--tpm", spec, "--output", "framebuffer",
				"--fb", fb, "--fb-mode", tc.mode, "--format", "json")
			var summary struct {
				Payload string `json:"payload"`
				Target  string `json:"target"`
			}
			if err := json.Unmarshal([]byte(out), &summary); err != nil {
				t.Fatalf("show --format json is not JSON: %v\n%s", err, out)
			}
			if summary.Payload != id.Payload || summary.Target != fb {
				t.Errorf("summary reports payload %q written to %q\nwant %q written to %q", summary.Payload, summary.Target, id.Payload, fb)
			}

			raw, err := os.ReadFile(fb)
			if err != nil {
				t.Fatal(err)
			}
			img := qrtest.RawImage(t, raw, tc.layout)
			assertReadsBack(t, qrtest.WritePNG(t, img, "framebuffer.png"), id)
		})
	}
}

package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
)

// zbar and zxing decode a picture with the reference readers and return the code's text.
func zbar(t *testing.T, png string) string  { return qrtest.Decode(t, reference("zbarimg"), png) }
func zxing(t *testing.T, png string) string { return qrtest.Decode(t, reference("ZXingReader"), png) }

func reference(name string) qrtest.Decoder {
	for _, d := range qrtest.Decoders() {
		if d.Name == name {
			return d
		}
	}
	panic("no reference decoder " + name)
}

type decoded struct {
	Source         string `json:"source"`
	RegistrationID string `json:"registrationId"`
	EndorsementKey string `json:"endorsementKey"`
	Label          string `json:"label"`
}

// companionDecode runs `companion decode --format json` and returns its single result.
func companionDecode(t *testing.T, png string) decoded {
	t.Helper()
	out := run(t, "companion", "decode", "--format", "json", png)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("companion decode found %d identities, want 1:\n%s", len(lines), out)
	}
	var d decoded
	if err := json.Unmarshal([]byte(lines[0]), &d); err != nil {
		t.Fatalf("companion decode output is not JSON: %v\n%s", err, out)
	}
	return d
}

// The PNG the agent writes decodes, with both reference decoders, to the payload the agent
// reports, and the companion reads the same identity back from it.
func TestShowPNGDecodes(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"derived", nil},
		{"label and OEM registration ID", []string{"--label", "Line 3/unit 42", "--registration-id", "factory-7.unit_42"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := agentIdentityJSON(t, spec, tc.extra...)
			png := filepath.Join(t.TempDir(), "qr.png")
			run(t, "oob-agent", append([]string{"show", "--tpm", spec, "--output", "png", "--file", png}, tc.extra...)...)

			if got := zbar(t, png); got != id.Payload {
				t.Errorf("zbarimg read %q\nwant %q", got, id.Payload)
			}
			if got := zxing(t, png); got != id.Payload {
				t.Errorf("ZXingReader read %q\nwant %q", got, id.Payload)
			}
			d := companionDecode(t, png)
			if d.RegistrationID != id.RegistrationID || d.EndorsementKey != id.EndorsementKey {
				t.Errorf("companion read %+v\nagent reported %+v", d, id)
			}
		})
	}
}

// The original sample's JSON payload is still written on request, and still read.
func TestShowLegacyPayload(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	id := agentIdentityJSON(t, spec)
	png := filepath.Join(t.TempDir(), "legacy.png")
	run(t, "oob-agent", "show", "--tpm", spec, "--output", "png", "--file", png, "--payload-format", "legacy")

	text := zbar(t, png)
	var legacy struct {
		RegID string `json:"regid"`
		EK    string `json:"ek"`
	}
	if err := json.Unmarshal([]byte(text), &legacy); err != nil {
		t.Fatalf("legacy payload is not the sample's JSON: %v\n%s", err, text)
	}
	if legacy.RegID != id.RegistrationID || legacy.EK != id.EndorsementKey {
		t.Fatalf("legacy payload %s does not carry the identity", text)
	}
	if d := companionDecode(t, png); d.RegistrationID != id.RegistrationID {
		t.Fatalf("companion read %+v from the legacy code", d)
	}
}

// --raw prints the code's text exactly, and a foreign code is reported, not accepted.
func TestDecodeRawAndForeign(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	id := agentIdentityJSON(t, spec)
	png := filepath.Join(t.TempDir(), "qr.png")
	run(t, "oob-agent", "show", "--tpm", spec, "--output", "png", "--file", png)
	if got := run(t, "companion", "decode", "--raw", png); got != id.Payload+"\n" {
		t.Fatalf("--raw printed %q, want the payload and a newline", got)
	}

	_, stderr, err := runCode(t, nil, "companion", "decode", "--payload", "https://example.com/")
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 3 {
		t.Fatalf("a foreign code exited with %v, want status 3", err)
	}
	if !strings.Contains(stderr, "not a device identity code") {
		t.Fatalf("foreign code message:\n%s", stderr)
	}
}

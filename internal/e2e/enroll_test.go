package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
)

// enrollOutput is the JSON of `companion enroll --format json`.
type enrollOutput struct {
	Outcome                string     `json:"outcome"`
	Enrollment             enrollment `json:"enrollment"`
	PreviousEndorsementKey string     `json:"previousEndorsementKey"`
}

type enrollment struct {
	RegistrationID string `json:"registrationId"`
	DeviceID       string `json:"deviceId"`
	Attestation    struct {
		Type string `json:"type"`
		TPM  struct {
			EndorsementKey string `json:"endorsementKey"`
		} `json:"tpm"`
	} `json:"attestation"`
	ProvisioningStatus string          `json:"provisioningStatus"`
	Capabilities       json.RawMessage `json:"capabilities"`
	IoTHubs            []string        `json:"iotHubs"`
	InitialTwin        struct {
		Tags       map[string]any `json:"tags"`
		Properties struct {
			Desired map[string]any `json:"desired"`
		} `json:"properties"`
	} `json:"initialTwin"`
	ETag string `json:"etag"`
}

// exitCode runs a binary expecting it to fail, and returns its exit status and stderr.
func exitCode(t *testing.T, env []string, name string, args ...string) (int, string, string) {
	t.Helper()
	stdout, stderr, err := runCode(t, env, name, args...)
	exit, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("%s %s: got %v, want a non-zero exit\nstdout:\n%s", name, strings.Join(args, " "), err, stdout)
	}
	return exit.ExitCode(), stdout, stderr
}

func runEnv(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := runCode(t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// The technician's path: the device's screen (PNG written by the agent from swtpm) is enrolled
// by the companion in the emulator; DPS then holds exactly the TPM's EK, with every option asked.
// Enrolling again changes nothing; another TPM under the same registration ID is refused.
func TestEnrollFromDeviceScreen(t *testing.T) {
	spec, _ := swtpmtest.Start(t)
	emu := startEmulator(t)
	id := agentIdentityJSON(t, spec)
	png := filepath.Join(t.TempDir(), "screen.png")
	run(t, "oob-agent", "show", "--tpm", spec, "--output", "png", "--file", png)
	twin := filepath.Join(t.TempDir(), "twin.json")
	if err := os.WriteFile(twin, []byte(`{"tags":{"site":"lyon"},"properties":{"desired":{"telemetryInterval":30}}}`), 0o644); err != nil {
		t.Fatal(err)
	}

	out := runEnv(t, emu.env, "companion", "enroll", "--image", png, "--device-id", "press-7",
		"--iot-hub", "factory.azure-devices.net", "--disabled", "--edge", "--tag", "line=4", "--twin", twin, "--format", "json")
	var res enrollOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("enroll --format json: %v\n%s", err, out)
	}
	e := res.Enrollment
	if res.Outcome != "created" || e.RegistrationID != id.RegistrationID || e.DeviceID != "press-7" {
		t.Fatalf("enroll: outcome %q, registration %q, device %q", res.Outcome, e.RegistrationID, e.DeviceID)
	}
	if e.Attestation.Type != "tpm" || e.Attestation.TPM.EndorsementKey != id.EndorsementKey {
		t.Fatalf("the enrollment's EK is not the TPM's:\n%s\n%s", e.Attestation.TPM.EndorsementKey, id.EndorsementKey)
	}
	if e.ProvisioningStatus != "disabled" || string(e.Capabilities) != `{"iotEdge":true}` ||
		len(e.IoTHubs) != 1 || e.IoTHubs[0] != "factory.azure-devices.net" {
		t.Errorf("options not applied: status %q capabilities %s hubs %v", e.ProvisioningStatus, e.Capabilities, e.IoTHubs)
	}
	if e.InitialTwin.Tags["line"] != "4" || e.InitialTwin.Tags["site"] != "lyon" || e.InitialTwin.Properties.Desired["telemetryInterval"] != 30.0 {
		t.Errorf("initial twin %+v", e.InitialTwin)
	}

	// What `enrollment show` reads back from the service is what enroll reported.
	var shown enrollment
	if err := json.Unmarshal([]byte(runEnv(t, emu.env, "companion", "enrollment", "show", id.RegistrationID, "--format", "json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.ETag != e.ETag || shown.Attestation.TPM.EndorsementKey != id.EndorsementKey {
		t.Errorf("enrollment show: etag %q, want %q", shown.ETag, e.ETag)
	}

	// The same device again: reported, nothing changed.
	text := runEnv(t, emu.env, "companion", "enroll", "--payload", id.Payload, "--device-id", "other")
	if !strings.Contains(text, "Already enrolled") || !strings.Contains(text, "Nothing was changed") {
		t.Errorf("enrolling again said:\n%s", text)
	}
	if err := json.Unmarshal([]byte(runEnv(t, emu.env, "companion", "enrollment", "show", id.RegistrationID, "--format", "json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.ETag != e.ETag || shown.DeviceID != "press-7" {
		t.Errorf("enrolling again changed the enrollment: etag %q→%q, device %q", e.ETag, shown.ETag, shown.DeviceID)
	}

	// Another TPM claiming the same registration ID: refused with status 4, then replaced on request.
	otherID := agentIdentity{EndorsementKey: readVectors(t)[0].ek}
	if otherID.EndorsementKey == id.EndorsementKey {
		t.Fatal("the test vector's EK is the swtpm's")
	}
	code, _, stderr := exitCode(t, emu.env, "companion", "enroll", "--registration-id", id.RegistrationID, "--endorsement-key", otherID.EndorsementKey)
	if code != 4 || !strings.Contains(stderr, "different endorsement key") || !strings.Contains(stderr, "--replace") {
		t.Fatalf("a conflicting EK: exit %d\n%s", code, stderr)
	}
	out = runEnv(t, emu.env, "companion", "enroll", "--registration-id", id.RegistrationID, "--endorsement-key", otherID.EndorsementKey, "--replace", "--format", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "replaced" || res.PreviousEndorsementKey != id.EndorsementKey || res.Enrollment.Attestation.TPM.EndorsementKey != otherID.EndorsementKey {
		t.Fatalf("--replace: outcome %q, previous key shown %t", res.Outcome, res.PreviousEndorsementKey == id.EndorsementKey)
	}
}

// Bad input is refused before anything reaches DPS, with status 2 for a bad command line.
func TestEnrollRefusesBadInput(t *testing.T) {
	emu := startEmulator(t)
	std := base64.StdEncoding
	goodEK := "AToAAQALAAMAsgAgg3GXZ0SEs/gakMyNRqXXJP1S124GUgtk8qHaGzMUaaoABgCAAEMAEAgAAAAAAAEA0ZZXPR1bj9qjfWtYZWHWwo3SfIuioZ4a6t3eph3rUEkyjVzPPxhbJAZbYrmUVB0JMuSHHUTzx2PZEKVSW0ZtY1puIWf8E0u1Cs9Z595PASa/hE4GJ71I5zjIrKpaNNLYXoKBMXzrSizRSDgmvQ70VVi7TCktBImZOyAQ+tTUaHxQfryd/0DTZKl9UI46V5Rg0EUU8M6JUIo3Nrrnti/U+Om0GCw3ozUO8ct9BZuOihfLaWw1HSx5sgtoHSzLhTsBDSjrIdTSA3ruxf/KG8uHwujWuruVYd1Htyr2+26K/CkChSj/Edu0E11qXFNcHC1sOAiqKEGEZfJBc/K44MnpKQ=="
	raw, _ := std.DecodeString(goodEK)
	cases := []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"no identity", nil, 2, "--image FILE"},
		{"two sources", []string{"--payload", "OOB1:M1", "--registration-id", "a", "--endorsement-key", goodEK}, 2, "one way only"},
		{"foreign code", []string{"--payload", "WIFI:S:plant;T:WPA;P:x;;"}, 1, "not a device identity code"},
		{"EK without size prefix", []string{"--registration-id", "dev-1", "--endorsement-key", std.EncodeToString(raw[2:])}, 1, "size"},
		{"registration ID DPS refuses", []string{"--registration-id", "Dev 1", "--endorsement-key", goodEK}, 1, "registration ID"},
		{"bad tag", []string{"--registration-id", "dev-1", "--endorsement-key", goodEK, "--tag", "novalue"}, 2, "KEY=VALUE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := exitCode(t, emu.env, "companion", append([]string{"enroll"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.say) {
				t.Fatalf("exit %d (want %d), stderr:\n%s(want it to mention %q)", code, tc.code, stderr, tc.say)
			}
		})
	}
	// Nothing reached the service.
	if out := runEnv(t, emu.env, "companion", "enrollment", "list", "--format", "json"); out != "" {
		t.Fatalf("refused input still created enrollments:\n%s", out)
	}
}

// The connection string never comes from argv, a file readable by others is refused, and the key
// never appears in any output.
func TestServiceCredentials(t *testing.T) {
	emu := startEmulator(t)
	cs := strings.TrimPrefix(emu.env[0], "DPS_CONNECTION_STRING=")
	key := cs[strings.Index(cs, "SharedAccessKey=")+len("SharedAccessKey="):]
	ca := emu.env[1]

	code, _, stderr := exitCode(t, []string{"DPS_CONNECTION_STRING=", ca}, "companion", "enrollment", "list")
	if code != 1 || !strings.Contains(stderr, "DPS_CONNECTION_STRING") && !strings.Contains(stderr, "empty") {
		t.Errorf("no connection string: exit %d\n%s", code, stderr)
	}

	file := filepath.Join(t.TempDir(), "cs")
	if err := os.WriteFile(file, []byte(cs+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = exitCode(t, []string{ca}, "companion", "enrollment", "list", "--connection-string-file", file)
	if code != 1 || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("a world-readable connection string file: exit %d\n%s", code, stderr)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	runEnv(t, []string{ca}, "companion", "enrollment", "list", "--connection-string-file", file)

	// A wrong key: the service's 401, explained, and the key nowhere in it.
	wrong := strings.Replace(cs, key, base64.StdEncoding.EncodeToString(make([]byte, 32)), 1)
	code, stdout, stderr := exitCode(t, []string{"DPS_CONNECTION_STRING=" + wrong, ca}, "companion", "enrollment", "show", "dev-1")
	if code != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("a wrong key: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stdout+stderr, key) || strings.Contains(stdout+stderr, "AAAAAAAAAAAAAAAAAAAA") {
		t.Errorf("a key appears in the output:\n%s%s", stdout, stderr)
	}

	// TLS is verified: without the emulator's CA the system's CAs refuse it.
	code, _, stderr = exitCode(t, []string{emu.env[0], "DPS_CA_FILE="}, "companion", "enrollment", "list")
	if code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("an untrusted certificate: exit %d\n%s", code, stderr)
	}
}

// enable, disable, list (paging through everything), show, delete, and registration show|delete.
func TestEnrollmentCommands(t *testing.T) {
	emu := startEmulator(t)
	vectors := readVectors(t)
	for i, v := range vectors {
		runEnv(t, emu.env, "companion", "enroll", "--registration-id", v.id, "--endorsement-key", v.ek, "--tag", "n="+string(rune('a'+i)))
	}

	out := runEnv(t, emu.env, "companion", "enrollment", "list", "--page-size", "2", "--format", "json")
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e enrollment
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("list line %q: %v", line, err)
		}
		seen[e.RegistrationID] = true
	}
	if len(seen) != len(vectors) {
		t.Fatalf("list with pages of 2 found %d of %d enrollments", len(seen), len(vectors))
	}
	table := runEnv(t, emu.env, "companion", "enrollment", "list")
	if !strings.HasPrefix(table, "REGISTRATION ID") || strings.Count(table, "\n") != len(vectors)+1 {
		t.Errorf("list table:\n%s", table)
	}

	first := vectors[0].id
	if out := runEnv(t, emu.env, "companion", "enrollment", "disable", first); out != first+": disabled\n" {
		t.Errorf("disable said %q", out)
	}
	if out := runEnv(t, emu.env, "companion", "enrollment", "show", first); !strings.Contains(out, "Status:") || !strings.Contains(out, "disabled") {
		t.Errorf("show after disable:\n%s", out)
	}
	runEnv(t, emu.env, "companion", "enrollment", "enable", first)
	if out := runEnv(t, emu.env, "companion", "enrollment", "show", first, "--format", "json"); !strings.Contains(out, `"provisioningStatus":"enabled"`) {
		t.Errorf("show after enable: %s", out)
	}

	emu.seedRegistration(t, first, `{"status":"assigned","assignedHub":"factory.azure-devices.net","deviceId":"`+first+`"}`)
	if out := runEnv(t, emu.env, "companion", "registration", "show", first); !strings.Contains(out, "factory.azure-devices.net") {
		t.Errorf("registration show:\n%s", out)
	}
	runEnv(t, emu.env, "companion", "registration", "delete", first)
	if code, _, _ := exitCode(t, emu.env, "companion", "registration", "show", first); code != 3 {
		t.Errorf("registration show after delete: exit %d, want 3", code)
	}

	runEnv(t, emu.env, "companion", "enrollment", "delete", first)
	code, _, stderr := exitCode(t, emu.env, "companion", "enrollment", "show", first)
	if code != 3 || !strings.Contains(stderr, "no enrollment") {
		t.Errorf("show after delete: exit %d\n%s", code, stderr)
	}
	// Several IDs, one missing: the others are done, the missing one is reported (status 3).
	code, out, stderr = exitCode(t, emu.env, "companion", "enrollment", "delete", vectors[1].id, first)
	if code != 3 || !strings.Contains(out, vectors[1].id+": deleted") || !strings.Contains(stderr, first) {
		t.Errorf("delete with one missing: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}

type vector struct{ id, ek string }

// readVectors returns the identities of pkg/identity's test vectors that have a derived ID.
func readVectors(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "pkg", "identity", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			EK    string `json:"ek"`
			RegID string `json:"regid"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []vector
	seen := map[string]bool{}
	for _, v := range doc.Vectors {
		if v.EK != "" && v.RegID != "" && !seen[v.RegID] {
			seen[v.RegID] = true
			out = append(out, vector{v.RegID, v.EK})
		}
	}
	if len(out) < 3 {
		t.Fatalf("only %d identity vectors; the test needs 3", len(out))
	}
	return out
}

// `make demo` runs scripts/demo.sh: the device's first boot from a software TPM to a finalized
// root, enrolled by the companion from the agent's PNG, with the binaries of this test run.
func TestDemo(t *testing.T) {
	qrtest.Tool(t, "swtpm", "swtpm")
	cmd := exec.Command("bash", "scripts/demo.sh")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "OOB_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"dps-emulator ready", "valid device identity", "Enrolled ",
		"assigned to localhost", "first boot: finalized",
		"workload unit kiosk.service:        enabled", "agent unit oob-agent.service:       disabled",
		"reboot requested:                   yes"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
}

// `make demo-factory` runs scripts/demo-factory.sh: two boards certified, pre-enrolled disabled,
// activated and onboarded by X.509, with the binaries of this test run.
func TestDemoFactory(t *testing.T) {
	qrtest.Tool(t, "swtpm", "swtpm")
	cmd := exec.Command("bash", "scripts/demo-factory.sh")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "OOB_BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo-factory: %v\n%s", err, out)
	}
	for _, want := range []string{"2 boards, 0 enrollments waiting for DPS, 0 failed", "2 boards shipped to ACME Machines",
		"board 1: asked the agent to try now; it said: Enrollment disabled: waiting for activation",
		"board 2: asked the agent to try now; it said: Enrollment disabled: waiting for activation",
		"board 1: activated in the portal (Hall 1, Lyon; CH-0001; hub.oob.test)",
		"board 2: activated in the portal (Hall 2, Lyon; CH-0002; hub.oob.test)",
		"board 1: workload enabled, agent disabled, twin's location: Hall 1, Lyon",
		"board 2: workload enabled, agent disabled, twin's location: Hall 2, Lyon",
		"the portal's board list: 2 boards activated"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the factory demo's output lacks %q:\n%s", want, out)
		}
	}
}

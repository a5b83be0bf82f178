package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/internal/swtpmtest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// factoryBoard is one board through the factory: where its key and chain are, and its device.
type factoryBoard struct {
	guid  string
	x509  map[string]any // the agent config's x509 section
	tpm   string         // the TPM spec, for a key in the TPM
	state string
	dev   *device
}

// The factory's whole flow, on SQLite and on PostgreSQL: oob-factory certifies three boards
// (one key in swtpm and one in a file by `oob-agent certify` over EST, one key made by the
// factory itself) and pre-enrolls them disabled; each board's first boot waits, showing its
// label's activation URL; the machine maker enables them; each registers by X.509, connects to
// its hub and finalizes.
func TestFactoryBoardsOnboardByX509(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var extra []string
			if db == "postgres" {
				f := filepath.Join(t.TempDir(), "database-url")
				if err := os.WriteFile(f, []byte(pgtest.URL(t)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				extra = []string{"--database-file", f}
			}
			factoryFlow(t, extra)
		})
	}
}

func factoryFlow(t *testing.T, dbArgs []string) {
	zbar := reference("zbarimg")
	hubL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{HubListener: hubL})
	emuEnv := []string{"DPS_CONNECTION_STRING=" + emu.ConnectionString.Secret(), "DPS_CA_FILE=" + filepath.Join(emu.Dir, tlsca.CertFile)}
	data := t.TempDir()
	factoryCmd := func(args ...string) string {
		t.Helper()
		return runEnv(t, emuEnv, "oob-factory", append(append(args, "--data", data), dbArgs...)...)
	}
	factoryCmd("ca", "init")
	tokenFile := filepath.Join(t.TempDir(), "line7.token")
	factoryCmd("station", "add", "line7", "--token-file", tokenFile)
	f := startFactory(t, data, emu, dbArgs...)
	root := filepath.Join(data, "ca-root.pem")

	spec, _ := swtpmtest.Start(t)
	boards := []*factoryBoard{
		{guid: "1a2b3c4d-0001-4e5f-8a9b-0c1d2e3f4a5b", tpm: spec},
		{guid: "1a2b3c4d-0002-4e5f-8a9b-0c1d2e3f4a5b"},
		{guid: "1a2b3c4d-0003-4e5f-8a9b-0c1d2e3f4a5b"},
	}
	for i, b := range boards {
		b.state = t.TempDir()
		switch i {
		case 0, 1:
			key := "tpm"
			args := []string{"certify", "--factory", f.url, "--ca-file", root, "--token-file", tokenFile,
				"--hardware-id", b.guid, "--state-dir", b.state}
			if b.tpm != "" {
				args = append(args, "--key", "tpm", "--tpm", b.tpm)
			} else {
				key = filepath.Join(b.state, "device-key.pem")
				args = append(args, "--key", "file")
			}
			run(t, "oob-agent", args...)
			b.x509 = map[string]any{"certificateFile": filepath.Join(b.state, "device-chain.pem"), "key": key}
		default:
			// The seed's own mode: the factory makes the key for the imaging step.
			out := t.TempDir()
			factoryCmd("board", "issue", b.guid, "--out", out)
			b.x509 = map[string]any{"certificateFile": filepath.Join(out, b.guid+".chain.pem"), "key": filepath.Join(out, b.guid+".key.pem")}
		}
	}

	svc := emu.Client(t, dps.Options{})
	for _, b := range boards {
		waitFor(t, b.guid+"'s disabled enrollment", 60*time.Second, func() bool {
			e, err := svc.GetEnrollment(context.Background(), b.guid)
			return err == nil && e.ProvisioningStatus == dpsapi.StatusDisabled
		})
	}
	var st struct {
		Boards []struct{ GUID, State string } `json:"boards"`
	}
	if err := json.Unmarshal([]byte(factoryCmd("status", "--format", "json")), &st); err != nil {
		t.Fatal(err)
	}
	for _, b := range st.Boards {
		if b.State != "pre-enrolled" {
			t.Errorf("status: %s is %s, want pre-enrolled", b.GUID, b.State)
		}
	}

	labels := t.TempDir()
	factoryCmd(append([]string{"label", "--portal-url", "https://activate.example.com/a", "--out", labels}, guidsOf(boards)...)...)
	factoryCmd("customer", "add", "acme")
	factoryCmd(append([]string{"ship", "--customer", "acme"}, guidsOf(boards)...)...)

	var runs []*agentRun
	for _, b := range boards {
		b.x509["activationFile"] = filepath.Join(labels, b.guid+".url")
		b.dev = newBoardDevice(t, emu, hubL.Addr().String(), b)
		runs = append(runs, b.dev.start(t))
	}
	for _, b := range boards {
		waitFor(t, b.guid+" waiting for activation", 60*time.Second, func() bool {
			out, _, err := runCode(t, nil, "oob-agent", "done", "--config", b.dev.config)
			return err == nil && strings.Contains(out, "Enrollment disabled: waiting for activation")
		})
		url, _ := os.ReadFile(filepath.Join(labels, b.guid+".url"))
		if got := qrtest.Decode(t, zbar, b.dev.screen); got != strings.TrimSpace(string(url)) {
			t.Errorf("%s's screen shows %q (zbarimg), want its label's activation URL %q", b.guid, got, url)
		}
	}

	runEnv(t, emuEnv, "companion", append([]string{"enrollment", "enable"}, guidsOf(boards)...)...)
	for i, b := range boards {
		if err := runs[i].wait(t, b.guid+" onboarding after activation", 90*time.Second); err != nil {
			t.Fatalf("%s's agent exited with %v", b.guid, err)
		}
		b.dev.assertHandedOver(t)
		reg, err := svc.GetRegistrationState(context.Background(), b.guid)
		if err != nil || reg.Status != dpsapi.RegistrationAssigned || reg.DeviceID != b.guid {
			t.Errorf("%s: DPS's registration %+v, %v", b.guid, reg, err)
		}
		twin, ok := emu.Hub.Twin(reg.AssignedHub, b.guid)
		if !ok || fmt.Sprint(twin.Reported["provisioning"]) == "<nil>" {
			t.Errorf("%s: the hub holds no provisioning report: %+v", b.guid, twin.Reported)
		}
	}
}

func guidsOf(boards []*factoryBoard) []string {
	var out []string
	for _, b := range boards {
		out = append(out, b.guid)
	}
	return out
}

// newBoardDevice is a device (offline root, units, screen) whose config onboards by X.509.
func newBoardDevice(t *testing.T, emu *emulatortest.Emulator, hubAddr string, b *factoryBoard) *device {
	t.Helper()
	d := newDeviceRoot(t)
	cfg := map[string]any{
		"version":  1,
		"dps":      map[string]any{"idScope": emu.IDScope, "endpoint": emu.Endpoint, "caFile": filepath.Join(emu.Dir, tlsca.CertFile)},
		"hub":      map[string]any{"address": hubAddr},
		"display":  map[string]any{"outputs": []string{"png"}, "png": d.screen},
		"stateDir": b.state,
		"retry":    map[string]any{"initial": "500ms", "max": "2s"},
		"x509":     b.x509,
		"finalize": map[string]any{"enable": []string{"kiosk.service"}, "disable": []string{"oob-agent.service"},
			"reboot": true, "rebootDelay": "0s", "root": d.root},
	}
	if b.tpm != "" {
		cfg["tpm"] = map[string]any{"path": b.tpm}
	}
	d.state = b.state
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(d.config, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

package portal

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/testio"
	"github.com/oobtpm/oob/pkg/dps"
)

const connGUID = "4b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

// activatedBoard records connGUID shipped to acme and activated.
func activatedBoard(t *testing.T) *records.Store {
	t.Helper()
	s := portaltest.SQLite(t)
	portaltest.RecordBoards(t, s, "acme", 1, connGUID)
	return s
}

// serveHubState parses serve's flags and runs what serve starts for the hubs, with the
// emulator as DPS, until the returned stop is called.
func serveHubState(t *testing.T, store *records.Store, dpsClient *dps.Client, args ...string) (stop func(), logs *testio.Buffer, err error) {
	t.Helper()
	logs = &testio.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	var wait func()
	cmd := NewCmdServe(cli.Test(strings.NewReader(""), io.Discard, logs), func(_ context.Context, o *ServeOptions) error {
		var err error
		wait, err = startHubState(ctx, o, store, dpsClient, slog.New(slog.NewTextHandler(logs, nil)))
		return err
	})
	cmd.SetArgs(append([]string{"--hostname", "localhost"}, args...))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		cancel()
		return nil, logs, err
	}
	return func() { cancel(); wait() }, logs, nil
}

// TestServeRecordsHubConnection: serve given the hub's connection string in a 0600 file records
// the activated board's device connected while it is, and stops reading when serve ends.
func TestServeRecordsHubConnection(t *testing.T) {
	emu := emulatortest.StartWithHubs(t)
	dev := emu.RegisterSymmetricKey(t, connGUID, "line-a.azure-devices.net")
	emu.ConnectHub(t, dev)
	store := activatedBoard(t)

	file := filepath.Join(t.TempDir(), "hubs")
	lines := "# the factory's hubs\n" + emu.HubConnectionString(t, dev.HubHost).Secret() + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--hub-connection-strings-file", file, "--hub-ca-file", filepath.Join(emu.Dir, tlsca.CertFile),
		"--hub-endpoint", emu.HubServiceAddr, "--hub-refresh", "100ms"}
	if _, _, err := serveHubState(t, store, emu.Client(t, dps.Options{}), args...); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a connection strings file readable by others: %v, want a refusal saying chmod 600", err)
	}
	if err := os.Chmod(file, 0o600); err != nil {
		t.Fatal(err)
	}
	stop, logs, err := serveHubState(t, store, emu.Client(t, dps.Options{}), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Rounds run every 100ms: wait for the one that has read the connected device.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := store.Connections(t.Context(), []string{connGUID})
		if err != nil {
			t.Fatal(err)
		}
		if c := got[connGUID]; c.State == records.ConnConnected {
			if c.Hub != dev.HubHost || c.Since.IsZero() {
				t.Fatalf("recorded %+v", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never recorded connected: %+v\n%s", got, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if key := emu.HubConnectionString(t, dev.HubHost).Key.Base64(); strings.Contains(logs.String(), key) {
		t.Fatal("the log shows the hub's key")
	}
}

// TestServeWithoutHubs: without connection strings nothing is read, and serve says so; with
// them but without DPS, serve says why it cannot read.
func TestServeWithoutHubs(t *testing.T) {
	t.Setenv("IOTHUB_CONNECTION_STRINGS", "")
	os.Unsetenv("IOTHUB_CONNECTION_STRINGS")
	store := activatedBoard(t)
	stop, logs, err := serveHubState(t, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if !strings.Contains(logs.String(), "no IoT hub connection strings") {
		t.Errorf("log: %s", logs)
	}

	t.Setenv("IOTHUB_CONNECTION_STRINGS", "HostName=h.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	stop, logs, err = serveHubState(t, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if !strings.Contains(logs.String(), "no DPS connection string") {
		t.Errorf("log: %s", logs)
	}

	t.Setenv("IOTHUB_CONNECTION_STRINGS", "HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if _, _, err := serveHubState(t, store, nil); err == nil || !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), "AAECAwQF") {
		t.Fatalf("a device connection string: %v, want a refusal naming the line, not the key", err)
	}
}

package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/hubservice"
)

// TestHubServiceListen: with --hub-service-listen the ready line names the hubs' service API,
// the data directory holds the default hub's connection string (0600), the same key across a
// restart, and a client with that string and the CA file reaches the API.
func TestHubServiceListen(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir, "--hub-service-listen", "127.0.0.1:0", "--hub-hostname", "factory-hub.localhost")
	if p.HubService == "" || p.Hub == "" {
		t.Fatalf("ready line without the hub service: %q", p.Stdout.String())
	}
	path := filepath.Join(dir, "hub-connection-string")
	read := func() []byte {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v, want mode 0600", path, fi, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := read()
	css, err := hubservice.ParseConnectionStrings(first)
	if err != nil || css[0].HostName != "factory-hub.localhost" || css[0].KeyName != "iothubowner" {
		t.Fatalf("hub connection string: %v %v", css, err)
	}
	roots, err := cafile.Load(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := hubservice.New(css, hubservice.Options{RootCAs: roots, Address: p.HubService})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Device(t.Context(), "factory-hub.localhost", "nobody"); !errors.Is(err, hubservice.ErrDeviceNotFound) {
		t.Fatalf("unknown device: %v, want ErrDeviceNotFound", err)
	}

	if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-p.Done
	startEmulator(t, dir, "--hub-service-listen", "127.0.0.1:0", "--hub-hostname", "factory-hub.localhost")
	if string(read()) != string(first) {
		t.Fatal("the hub policy's key changed across a restart")
	}
}

func TestHubServiceNeedsHub(t *testing.T) {
	_, err := parseFlags([]string{"--data", t.TempDir(), "--hub-listen", "off", "--hub-service-listen", "127.0.0.1:0"}, os.Stderr)
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("service without hub: %v, want a usage error", err)
	}
}

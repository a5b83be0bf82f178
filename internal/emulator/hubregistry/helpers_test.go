package hubregistry_test

import (
	"net"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/hubclient"
)

// startWithHub runs an emulator that decides registrations at once and serves the hub its devices
// are assigned to; it returns the hub's address.
func startWithHub(t *testing.T) (*emulatortest.Emulator, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{HubListener: ln, AssignDelay: 1}), ln.Addr().String()
}

// desired connects to the hub as cfg says and returns the device twin's desired properties.
func desired(t *testing.T, cfg hubclient.Config) map[string]any {
	t.Helper()
	conn, err := hubclient.Connect(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	twin, err := conn.Twin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return twin.Desired
}

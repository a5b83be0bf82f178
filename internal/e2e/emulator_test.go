package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest/emuproc"
)

// emulator is a dps-emulator process started by a test.
type emulator struct {
	dir      string
	addr     string // the service and device API's host:port
	adminURL string // the admin API's base URL
	hub      string // the IoT hub's host:port
	// env reaches the emulator from the companion: the connection string and the CA.
	env []string
}

// startEmulator runs the dps-emulator binary on free loopback ports until the test ends, and
// waits for its ready line.
func startEmulator(t *testing.T) *emulator {
	t.Helper()
	dir := t.TempDir()
	p := emuproc.Start(t, filepath.Join(bin, "dps-emulator"), dir)
	e := &emulator{dir: dir, addr: p.Addr, adminURL: "http://" + p.Admin, hub: p.Hub}
	cs, err := os.ReadFile(filepath.Join(dir, "service-connection-string"))
	if err != nil {
		t.Fatal(err)
	}
	e.env = []string{"DPS_CONNECTION_STRING=" + strings.TrimSpace(string(cs)), "DPS_CA_FILE=" + filepath.Join(dir, "ca.pem")}
	return e
}

// seedRegistration stores a device registration state through the admin API, as a device's
// registration would.
func (e *emulator) seedRegistration(t *testing.T, id, body string) {
	t.Helper()
	e.admin(t, http.MethodPut, "/admin/registrations/"+id, body)
}

// admin calls the emulator's admin API with its token and fails the test unless it answers 200.
func (e *emulator) admin(t *testing.T, method, path, body string) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(e.dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, e.adminURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("emulator admin %s %s: HTTP %d", method, path, res.StatusCode)
	}
}

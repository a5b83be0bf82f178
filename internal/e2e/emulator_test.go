package e2e

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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

var readyLine = regexp.MustCompile(`^dps-emulator ready on https://(\S+) \(data .*; admin (http://\S+); hub mqtts://(\S+)\)$`)

// startEmulator runs the dps-emulator binary on free loopback ports until the test ends, and
// waits for its ready line.
func startEmulator(t *testing.T) *emulator {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(bin, "dps-emulator"), "--data", dir,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--hub-listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatalf("dps-emulator printed no ready line within 30 s\nstderr:\n%s", stderr.String())
	}
	m := readyLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("dps-emulator's first line is not its ready line: %q\nstderr:\n%s", line, stderr.String())
	}
	e := &emulator{dir: dir, addr: m[1], adminURL: m[2], hub: m[3]}
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

package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest/emuproc"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// emulatorBinary builds dps-emulator once per test run.
func emulatorBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dps-emulator-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dps-emulator")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startEmulator runs the binary on dir and waits for its ready line.
func startEmulator(t *testing.T, dir string, extra ...string) *emuproc.Process {
	t.Helper()
	return emuproc.Start(t, emulatorBinary(t), dir, extra...)
}

// client is an HTTPS client trusting the emulator's CA from dir, signing with the connection
// string from dir, as scripts do.
type client struct {
	t    *testing.T
	http *http.Client
	base string
	host string
	key  string
}

func newClient(t *testing.T, dir, addr string) *client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	cs := readConnectionString(t, dir)
	_, port, _ := strings.Cut(addr, ":")
	return &client{
		t:    t,
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second},
		base: "https://localhost:" + port,
		host: cs["HostName"],
		key:  cs["SharedAccessKey"],
	}
}

func readConnectionString(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "service-connection-string"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ";") {
		k, v, _ := strings.Cut(part, "=")
		m[k] = v
	}
	return m
}

func (c *client) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	status, data, err := c.try(method, path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	return status, data
}

// try is do for callers off the test's goroutine: a failed request is an error, not a failure.
func (c *client) try(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, c.base+path+"?api-version=2021-10-01", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	sr := url.QueryEscape(c.host)
	se := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	k, _ := base64.StdEncoding.DecodeString(c.key)
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(sr + "\n" + se))
	req.Header.Set("Authorization", "SharedAccessSignature sr="+sr+"&sig="+url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))+"&se="+se+"&skn=provisioningserviceowner")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res.StatusCode, data, err
}

func TestStartupContractAndRestartAfterKill(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir)

	for name, mode := range map[string]os.FileMode{"service-connection-string": 0o600, "admin-token": 0o600, "ca-key.pem": 0o600, "ca.pem": 0o644, "id-scope": 0o644, "emulator.db": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", name, fi.Mode().Perm(), mode, err)
		}
	}
	cs := readConnectionString(t, dir)
	_, port, _ := strings.Cut(p.Addr, ":")
	if cs["HostName"] != "localhost:"+port || cs["SharedAccessKeyName"] != "provisioningserviceowner" || len(cs["SharedAccessKey"]) != 44 {
		t.Fatalf("connection string %v", cs)
	}
	scope, _ := os.ReadFile(filepath.Join(dir, "id-scope"))
	if !regexp.MustCompile(`^0ne[0-9A-F]{8}\n$`).Match(scope) {
		t.Fatalf("id-scope %q", scope)
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))

	c := newClient(t, dir, p.Addr)
	status, body := c.do(http.MethodPut, "/enrollments/survivor", `{"registrationId":"survivor","attestation":{"type":"symmetricKey"}}`)
	if status != http.StatusOK {
		t.Fatalf("create: %d %s", status, body)
	}
	var created map[string]any
	_ = json.Unmarshal(body, &created)
	// The log line reaches p.Stderr through a pipe the test copies from; it may lag the response.
	logged := func() bool { return strings.Contains(p.Stderr.String(), "path=/enrollments/survivor") }
	for deadline := time.Now().Add(5 * time.Second); !logged() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !logged() {
		t.Fatalf("request not logged:\n%s", p.Stderr)
	}
	if strings.Contains(p.Stderr.String(), cs["SharedAccessKey"]) || strings.Contains(p.Stderr.String(), "SharedAccessSignature") {
		t.Fatal("the request log shows the key or the Authorization header")
	}

	// kill -9, then start again on the same directory: same service, nothing lost.
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done
	p2 := startEmulator(t, dir)
	if cs2 := readConnectionString(t, dir); cs2["SharedAccessKey"] != cs["SharedAccessKey"] {
		t.Fatal("policy key changed across restart")
	}
	scope2, _ := os.ReadFile(filepath.Join(dir, "id-scope"))
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if string(scope2) != string(scope) || !bytes.Equal(caBefore, caAfter) {
		t.Fatal("id-scope or CA changed across restart")
	}
	c = newClient(t, dir, p2.Addr)
	status, body = c.do(http.MethodGet, "/enrollments/survivor", "")
	var got map[string]any
	_ = json.Unmarshal(body, &got)
	if status != http.StatusOK || got["etag"] != created["etag"] {
		t.Fatalf("after kill -9: %d %s", status, body)
	}

	// SIGTERM: a clean exit, status 0, and only the ready line on stdout.
	if err := p2.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p2.Done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p2.Stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
	}
	if n := strings.Count(p2.Stdout.String(), "\n"); n != 1 {
		t.Fatalf("stdout has %d lines: %q", n, p2.Stdout)
	}
}

func TestAdminEndpointOfTheProcess(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir, "--throttle-every", "2", "--retry-after", "4s")
	c := newClient(t, dir, p.Addr)
	first, _ := c.do(http.MethodGet, "/enrollments/x", "")
	second, _ := c.do(http.MethodGet, "/enrollments/x", "")
	if first != http.StatusNotFound || second != http.StatusTooManyRequests {
		t.Fatalf("--throttle-every 2: %d, %d", first, second)
	}
	token, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	for _, tc := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"Bearer wrong", http.StatusUnauthorized}, {"Bearer " + strings.TrimSpace(string(token)), http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodDelete, "http://"+p.Admin+"/admin/faults", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Fatalf("admin with %q: %d, want %d", tc.auth, res.StatusCode, tc.want)
		}
	}
	for range 3 {
		if s, _ := c.do(http.MethodGet, "/enrollments/x", ""); s != http.StatusNotFound {
			t.Fatalf("faults not cleared: %d", s)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"--data"}, {"--data", t.TempDir(), "extra"}, {"--data", t.TempDir(), "--throttle-probability", "2"}, {"--data", t.TempDir(), "--assign-delay", "-1s"}, {"--nope"}} {
		cmd := exec.Command(emulatorBinary(t), args...)
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2", args, err)
		}
	}
}

// --help prints the flags and exits 0, as the other programs do.
func TestHelpExitsZero(t *testing.T) {
	out, err := exec.Command(emulatorBinary(t), "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-data") {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	// The clock offset is there, and says it is for tests.
	if !strings.Contains(string(out), "-clock-offset") || !strings.Contains(string(out), "for testing clients' clock checks only") {
		t.Fatalf("--help does not describe --clock-offset as for testing:\n%s", out)
	}
}

// --clock-offset shifts the Date header of every answer, so a client comparing clocks sees it.
func TestClockOffsetShiftsTheDateHeader(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir, "--clock-offset", "-2h")
	c := newClient(t, dir, p.Addr)
	res, err := c.http.Get(c.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	date, err := http.ParseTime(res.Header.Get("Date"))
	if err != nil {
		t.Fatalf("Date %q: %v", res.Header.Get("Date"), err)
	}
	// Two hours behind, give or take the request's own second or two.
	if behind := time.Until(date); behind > -2*time.Hour+time.Minute || behind < -2*time.Hour-time.Minute {
		t.Fatalf("Date %s is %s from now, want about -2h", date, behind)
	}
}

// A second emulator on a data directory in use says which file another process holds, instead
// of a bare timeout.
func TestSecondEmulatorOnTheSameData(t *testing.T) {
	dir := t.TempDir()
	startEmulator(t, dir)
	out, err := exec.Command(emulatorBinary(t), "--data", dir, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--hub-listen", "off").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "another process (a dps-emulator still running?) holds the lock on "+filepath.Join(dir, "emulator.db")) {
		t.Fatalf("second emulator: %v\n%s", err, out)
	}
}

// Killed with SIGKILL in the middle of a load of enrollment writes, then started again on the
// same data: every write the emulator acknowledged (200) is there.
func TestKilledUnderLoadLosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir)
	c := newClient(t, dir, p.Addr)
	var mu sync.Mutex
	var acked []string
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("load-%d-%d", w, i)
				status, _, err := c.try(http.MethodPut, "/enrollments/"+id, `{"registrationId":"`+id+`","attestation":{"type":"symmetricKey"}}`)
				if err != nil {
					return // the kill
				}
				if status == http.StatusOK {
					mu.Lock()
					acked = append(acked, id)
					if len(acked) == 200 {
						close(enough)
					}
					mu.Unlock()
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("fewer than 200 writes acknowledged in 60 s")
	}
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done
	wg.Wait()
	p2 := startEmulator(t, dir)
	c = newClient(t, dir, p2.Addr)
	for _, id := range acked {
		if status, body := c.do(http.MethodGet, "/enrollments/"+id, ""); status != http.StatusOK {
			t.Errorf("%s was acknowledged before the kill; after the restart: %d %s", id, status, body)
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, all found after the restart", len(acked))
}

// A request line Go's server cannot parse (an invalid escape) is answered with DPS's JSON error
// body, not net/http's plain text. Go's client refuses to send such a path, so the request is
// written by hand.
func TestUnparsablePathGetsDPSError(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir)
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", p.Addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /enrollments/%%zz?api-version=2021-10-01 HTTP/1.1\r\nHost: localhost\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	var e struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
	}
	if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(body, &e) != nil || e.ErrorCode == 0 || !strings.Contains(e.Message, "invalid percent-escape") {
		t.Fatalf("GET /enrollments/%%zz: %s %q %s; want 400 with DPS's JSON error body", res.Status, res.Header.Get("Content-Type"), body)
	}
	// The emulator goes on serving.
	c := newClient(t, dir, p.Addr)
	if status, body := c.do(http.MethodPut, "/enrollments/after", `{"registrationId":"after","attestation":{"type":"symmetricKey"}}`); status != http.StatusOK {
		t.Fatalf("a request after the refusal: %d %s", status, body)
	}
}

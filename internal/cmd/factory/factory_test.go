package factory

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/est"
	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

const guid = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

// run runs oob-factory with args and returns its outputs and exit code.
func run(t testing.TB, in string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := cli.Test(strings.NewReader(in), &out, &errOut)
	root := NewRootCmd(ios, "test")
	root.SetArgs(args)
	code = cli.ExitCode(root.ExecuteContext(context.Background()), &errOut)
	return out.String(), errOut.String(), code
}

func withEmulator(t *testing.T, emu *emulatortest.Emulator) []string {
	t.Setenv(dpsflags.EnvConnectionString, emu.ConnectionString.Secret())
	return []string{"--ca-file", filepath.Join(emu.Dir, tlsca.CertFile)}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		say  string
	}{
		{"password on the command line", []string{"status", "--database", "postgres://u:secret@db/f"}, "must not hold a password"},
		{"bad key type", []string{"ca init", "--key-type", "dsa"}, "--key-type"},
		{"upper-case GUID", []string{"board", "issue", strings.ToUpper(guid), "--out", "x"}, "DPS refuses upper case"},
		{"malformed GUID", []string{"board", "issue", "board-1", "--out", "x"}, "8-4-4-4-12"},
		{"ship needs boards", []string{"ship", "--customer", "acme"}, "GUIDs"},
		{"serve needs TLS", []string{"serve"}, "--hostname"},
		{"reissue needs a reason", []string{"board", "reissue", guid}, "--reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(strings.Fields(tc.args[0]), tc.args[1:]...)
			args = append(args, "--data", t.TempDir())
			_, errOut, code := run(t, "", args...)
			if code != cli.ExitUsage || !strings.Contains(errOut, tc.say) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", code, errOut, cli.ExitUsage, tc.say)
			}
		})
	}
}

func TestCACommands(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, code := run(t, "", "ca", "init", "--data", dir, "--key-type", "rsa3072"); code != 0 {
		t.Fatalf("ca init: %d %s", code, errOut)
	}
	if _, _, code := run(t, "", "ca", "init", "--data", dir); code != cli.ExitConflict {
		t.Errorf("second ca init: exit %d, want %d", code, cli.ExitConflict)
	}
	out, errOut, code := run(t, "", "ca", "verification-cert", "--data", dir, "--code", "A1B2C3")
	if code != 0 {
		t.Fatalf("verification-cert: %d %s", code, errOut)
	}
	c, err := boardca.ParseCertificate([]byte(out))
	if err != nil || c.Subject.CommonName != "A1B2C3" {
		t.Fatalf("verification certificate: %v %v", c, err)
	}
	ca, _ := boardca.Load(dir)
	if c.CheckSignatureFrom(ca.Intermediate) != nil {
		t.Error("verification certificate not signed by the intermediate")
	}

	// Import into another data directory; a loose key file is refused with advice.
	other := t.TempDir()
	key := filepath.Join(t.TempDir(), "k.pem")
	b, _ := os.ReadFile(filepath.Join(dir, boardca.KeyFile))
	if err := os.WriteFile(key, b, 0o640); err != nil {
		t.Fatal(err)
	}
	args := []string{"ca", "import", "--data", other, "--root-cert", filepath.Join(dir, boardca.RootCertFile),
		"--cert", filepath.Join(dir, boardca.CertFile), "--key-file", key}
	if _, errOut, code := run(t, "", args...); code == 0 || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("import of a 0640 key: exit %d %q", code, errOut)
	}
	os.Chmod(key, 0o600)
	if _, errOut, code := run(t, "", args...); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
}

// TestBoardIssueEnrollsDisabled is the seed's own mode, end to end against the emulator.
func TestBoardIssueEnrollsDisabled(t *testing.T) {
	emu := emulatortest.Start(t)
	dir, out := t.TempDir(), t.TempDir()
	if _, errOut, code := run(t, "", "ca", "init", "--data", dir); code != 0 {
		t.Fatalf("ca init: %s", errOut)
	}
	args := append([]string{"board", "issue", guid, "--out", out, "--data", dir, "--line", "4", "--factory", "plant"}, withEmulator(t, emu)...)
	stdout, errOut, code := run(t, "", args...)
	if code != 0 {
		t.Fatalf("board issue: %d %s", code, errOut)
	}
	if !strings.Contains(errOut, "pre-enrolled") || strings.Contains(stdout+errOut, "PRIVATE KEY") {
		t.Errorf("board issue said %q / %q", stdout, errOut)
	}
	keyFile := filepath.Join(out, guid+".key.pem")
	if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(out, guid+".chain.pem"), keyFile); err != nil {
		t.Errorf("the chain and key do not go together: %v", err)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		o, err := exec.Command("openssl", "verify", "-CAfile", filepath.Join(dir, boardca.RootCertFile),
			"-untrusted", filepath.Join(dir, boardca.CertFile), filepath.Join(out, guid+".cert.pem")).CombinedOutput()
		if err != nil {
			t.Errorf("openssl verify: %v %s", err, o)
		}
	}
	c := emu.Client(t, dps.Options{})
	e, err := c.GetEnrollment(context.Background(), guid)
	if err != nil {
		t.Fatal(err)
	}
	if e.ProvisioningStatus != dpsapi.StatusDisabled || e.Attestation.Type != dpsapi.AttestationX509 {
		t.Errorf("enrollment %s, %s", e.ProvisioningStatus, e.Attestation.Type)
	}

	// Again: the files exist, nothing changes.
	if _, _, code := run(t, "", args...); code != cli.ExitConflict {
		t.Errorf("second board issue: exit %d, want %d", code, cli.ExitConflict)
	}
	// Status shows it pre-enrolled.
	stdout, _, code = run(t, "", "status", "--data", dir, "--format", "json")
	var s statusJSON
	if err := json.Unmarshal([]byte(stdout), &s); code != 0 || err != nil {
		t.Fatalf("status: %d %v", code, err)
	}
	if len(s.Boards) != 1 || s.Boards[0].State != "pre-enrolled" || len(s.Pending) != 0 {
		t.Errorf("status: %+v", s)
	}
}

func TestBoardIssueWithDPSAwayQueues(t *testing.T) {
	emu := emulatortest.Start(t)
	if err := emu.Faults.Set(emulator.FaultConfig{UnavailableProbability: 1}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run(t, "", "ca", "init", "--data", dir)
	args := append([]string{"board", "issue", guid, "--out", t.TempDir(), "--data", dir, "--timeout", "2s"}, withEmulator(t, emu)...)
	_, errOut, code := run(t, "", args...)
	if code != 0 || !strings.Contains(errOut, "waits in the outbox") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	stdout, _, _ := run(t, "", "status", "--data", dir)
	if !strings.Contains(stdout, "1 enrollments waiting for DPS") {
		t.Errorf("status:\n%s", stdout)
	}
}

// served is an in-process `oob-factory serve` with a station's credentials.
type served struct {
	addr   string
	token  string
	client *http.Client
}

// startServe runs serve on a free loopback port with a new CA and station in dir, sending
// enrollments to emu, until the test ends. The records are SQLite in dir unless
// $OOB_FACTORY_DATABASE is set.
func startServe(t testing.TB, dir string, emu *emulatortest.Emulator) *served {
	t.Helper()
	if _, errOut, code := run(t, "", "ca", "init", "--data", dir); code != 0 {
		t.Fatalf("ca init: %s", errOut)
	}
	token, errOut, code := run(t, "", "station", "add", "line4", "--data", dir)
	if code != 0 {
		t.Fatalf("station add: %s", errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	opts := &ServeOptions{IO: cli.Test(nil, &bytes.Buffer{}, &bytes.Buffer{}), Listen: "127.0.0.1:0", Hostnames: []string{"127.0.0.1"},
		Ready: func(a string) { ready <- a }}
	opts.Data.Dir = dir
	opts.Board = BoardFlags{Factory: "plant", Line: "4", Validity: time.Hour}
	opts.Service.CAFile = filepath.Join(emu.Dir, tlsca.CertFile)
	t.Setenv(dpsflags.EnvConnectionString, emu.ConnectionString.Secret())
	go func() { done <- serveRun(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve ended with %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("serve: %v", err)
	}
	ca, _ := boardca.Load(dir)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Root)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return &served{addr: addr, token: strings.TrimSpace(token), client: client}
}

// csr is a new board key's certificate request for guid, base64 DER as EST sends it.
func csr(t testing.TB, guid string) string {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: guid}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// simpleEnroll sends a CSR as the station and returns the HTTP status.
func (s *served) simpleEnroll(csr string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, "https://"+s.addr+est.PathSimpleEnroll, strings.NewReader(csr))
	req.Header.Set("Content-Type", "application/pkcs10")
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

func TestServeCertifiesAndEnrolls(t *testing.T) {
	emu := emulatortest.Start(t)
	s := startServe(t, t.TempDir(), emu)
	status, err := s.simpleEnroll(csr(t, guid))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusOK {
		t.Fatalf("simpleenroll: %d", status)
	}
	// The worker is woken by the new board; wait for DPS to hold the enrollment, bounded.
	c := emu.Client(t, dps.Options{})
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, err := c.GetEnrollment(context.Background(), guid)
		if err == nil && e.ProvisioningStatus == dpsapi.StatusDisabled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no disabled enrollment in DPS within 20 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCustomersAndShipping(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dir := t.TempDir()
			data := []string{"--data", dir}
			if db == "postgres" {
				f := filepath.Join(t.TempDir(), "db-url")
				if err := os.WriteFile(f, []byte(pgtest.URL(t)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				data = append(data, "--database-file", f)
			}
			run(t, "", append([]string{"ca", "init"}, data...)...)
			if _, e, code := run(t, "", append([]string{"board", "issue", guid, "--out", t.TempDir()}, data...)...); code != 0 {
				t.Fatalf("board issue: %s", e)
			}
			if _, e, code := run(t, "", append([]string{"customer", "add", "acme"}, data...)...); code != 0 {
				t.Fatalf("customer add: %s", e)
			}
			if _, _, code := run(t, "", append([]string{"ship", "--customer", "nobody", guid}, data...)...); code != cli.ExitNotFound {
				t.Errorf("ship to an unknown customer: exit %d", code)
			}
			if _, e, code := run(t, "guid\n"+guid+"\n", append([]string{"ship", "--customer", "acme", "--csv", "-"}, data...)...); code != 0 {
				t.Fatalf("ship: %s", e)
			}
			hub := func(args ...string) (string, string, int) {
				return run(t, "", append(append([]string{"customer", "hub"}, args...), data...)...)
			}
			if _, e, code := hub("add", "acme", "Acme-Hub.azure-devices.net"); code != 0 {
				t.Fatalf("hub add: %s", e)
			}
			if _, _, code := hub("add", "acme", "acme-hub.azure-devices.net"); code != cli.ExitConflict {
				t.Errorf("the same hub again: exit %d", code)
			}
			if _, e, code := hub("add", "acme", "https://x.example"); code != cli.ExitUsage || !strings.Contains(e, "host name") {
				t.Errorf("a URL as the hub: exit %d %s", code, e)
			}
			if _, _, code := hub("add", "nobody", "h.example.net"); code != cli.ExitNotFound {
				t.Errorf("a hub for an unknown customer: exit %d", code)
			}
			_, _, _ = hub("add", "acme", "spare.example.net")
			if _, _, code := hub("remove", "acme", "spare.example.net"); code != 0 {
				t.Errorf("hub remove: exit %d", code)
			}
			if _, _, code := hub("remove", "acme", "spare.example.net"); code != cli.ExitNotFound {
				t.Errorf("removing a hub not allowed: exit %d", code)
			}
			out, _, _ := hub("list", "acme", "--format", "json")
			var hubs customerHubsJSON
			if err := json.Unmarshal([]byte(out), &hubs); err != nil || hubs.Customer != "acme" || len(hubs.Hubs) != 1 || hubs.Hubs[0] != "acme-hub.azure-devices.net" {
				t.Errorf("hub list: %s", out)
			}
			if out, _, _ := hub("list", "acme"); out != "acme-hub.azure-devices.net\n" {
				t.Errorf("hub list as text: %q", out)
			}
			out, _, _ = run(t, "", append([]string{"status", "--format", "json"}, data...)...)
			var s statusJSON
			if err := json.Unmarshal([]byte(out), &s); err != nil || len(s.Boards) != 1 || s.Boards[0].Customer != "acme" {
				t.Errorf("status after shipping: %s", out)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	run(t, "", "ca", "init", "--data", dir)
	if _, e, code := run(t, "", "board", "issue", guid, "--out", t.TempDir(), "--data", dir, "--batch", "B1"); code != 0 {
		t.Fatalf("board issue: %s", e)
	}
	for _, f := range []string{"png", "zpl"} {
		stdout, e, code := run(t, "", "label", "--batch", "B1", "--portal-url", "https://activate.example.com", "--out", out, "--format", f, "--data", dir)
		if code != 0 || strings.TrimSpace(stdout) != filepath.Join(out, guid+"."+f) {
			t.Fatalf("label --format %s: %d %q %s", f, code, stdout, e)
		}
	}
	z, _ := os.ReadFile(filepath.Join(out, guid+".zpl"))
	_, rest, ok := strings.Cut(string(z), "Activation code: ")
	code, _, _ := strings.Cut(rest, "^FS")
	if !ok || !strings.Contains(string(z), "^FDBoard "+guid) {
		t.Fatalf("ZPL label:\n%s", z)
	}
	// The URL file for the board's image carries the same code as the last label.
	u, _ := os.ReadFile(filepath.Join(out, guid+".url"))
	if want := "https://activate.example.com?code=" + code + "&guid=" + guid + "\n"; !strings.Contains(string(u), "code="+code) || !strings.Contains(string(u), "guid="+guid) {
		t.Errorf("%s.url holds %q, want the label's URL like %q", guid, u, want)
	}
	st, err := records.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.ActivationCode(context.Background(), guid)
	st.Close()
	if err != nil || h != label.CodeHash(code) {
		t.Errorf("stored code hash %q (%v) is not the hash of the last label's code %q", h, err, code)
	}
	for _, f := range []string{records.DatabaseFile, records.DatabaseFile + "-wal"} {
		db, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(db, []byte(code)) {
			t.Errorf("the activation code itself is in %s", f)
		}
	}
	if _, _, code := run(t, "", "label", "--batch", "none", "--portal-url", "https://a.example", "--out", out, "--data", dir); code != cli.ExitNotFound {
		t.Errorf("an empty batch: exit %d", code)
	}
}

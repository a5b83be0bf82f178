package portal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/testio"
)

// run runs oob-portal with args and returns its outputs and exit code.
func run(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCmd(cli.Test(strings.NewReader(""), &out, &errOut), "test")
	root.SetArgs(args)
	code = cli.ExitCode(root.ExecuteContext(context.Background()), &errOut)
	return out.String(), errOut.String(), code
}

func TestInviteRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	base := []string{"user", "invite", "--data", dir, "--portal-url", "https://portal.example"}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no email", []string{"--customer", "acme", "--role", "viewer"}, 2},
		{"bad role", []string{"--customer", "acme", "--email", "a@acme.example", "--role", "root"}, 2},
		{"not an address", []string{"--customer", "acme", "--email", "ann", "--role", "viewer"}, 2},
		{"http portal", []string{"--customer", "acme", "--email", "a@acme.example", "--role", "viewer", "--portal-url", "http://p.example"}, 2},
		{"unknown customer", []string{"--customer", "acme", "--email", "a@acme.example", "--role", "viewer"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, append(append([]string{}, base...), tc.args...)...)
			if code != tc.code || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr %s", code, tc.code, out, errOut)
			}
		})
	}
}

func TestServeFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--tls-cert", "c.pem"},
		{"serve", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--hostname", "localhost"},
		{"serve", "--hostname", "localhost", "--idle", "2h", "--max-age", "1h"},
	} {
		if _, errOut, code := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
}

// TestInviteLinkThenServe is the commands as an operator uses them: the factory's SQLite
// records, an invitation printed by `user invite`, then `serve` with a certificate of its own
// and the emulator as DPS; the link sets a password, the board list and the label's form work.
func TestInviteLinkThenServe(t *testing.T) {
	dir := t.TempDir()
	emu := emulatortest.Start(t)
	store, err := records.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	board := portaltest.ShipBoard(t, store, emu, "acme")
	if err := store.AddCustomerHub(context.Background(), "acme", "acme-hub.azure-devices.net", "factory"); err != nil {
		t.Fatal(err)
	}
	store.Close()

	link, errOut, code := run(t, "user", "invite", "--data", dir, "--customer", "acme", "--email", "Ann@Acme.example",
		"--role", "activator", "--portal-url", "https://portal.example:8443/")
	if code != 0 || !strings.HasPrefix(link, "https://portal.example:8443/invite/") || !strings.Contains(errOut, "ann@acme.example") {
		t.Fatalf("invite: exit %d, %q, %s", code, link, errOut)
	}
	token := strings.TrimSpace(strings.TrimPrefix(link, "https://portal.example:8443/invite/"))

	t.Setenv(dpsflags.EnvConnectionString, emu.ConnectionString.Secret())
	logs := &testio.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	served := make(chan error, 1)
	cmd := NewCmdServe(cli.Test(strings.NewReader(""), io.Discard, logs), func(ctx context.Context, o *ServeOptions) error {
		o.Ready = func(addr string) { ready <- addr }
		return serveRun(ctx, o)
	})
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--hostname", "localhost", "--data", dir, "--ca-file", filepath.Join(emu.Dir, tlsca.CertFile)})
	go func() { served <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve ended: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs)
	}
	m := regexp.MustCompile(`sha256=([0-9a-f]{64})`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no certificate fingerprint in the log:\n%s", logs)
	}
	// Trust exactly the certificate whose fingerprint the log printed, for the name localhost.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			sum := sha256.Sum256(raw[0])
			if hex.EncodeToString(sum[:]) != m[1] {
				return errors.New("not the certificate the log named")
			}
			return nil
		},
	}}}
	base := "https://localhost:" + addr[strings.LastIndex(addr, ":")+1:]
	post := func(path string, v url.Values) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post("/invite/"+token, url.Values{"password": {"a long passphrase"}, "again": {"a long passphrase"}})
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/boards" || !strings.Contains(string(body), board.GUID) {
		t.Fatalf("after the invitation: %s %s", res.Request.URL.Path, body)
	}
	res, err = c.Get(base + "/a?guid=" + board.GUID + "&code=" + url.QueryEscape(board.Code))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "disabled") || !strings.Contains(string(body), `name="etag"`) {
		t.Errorf("the label's page, with the enrollment read from DPS: %d %s", res.StatusCode, body)
	}
}

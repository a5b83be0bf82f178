package e2e

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dpsemu "github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/qrtest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/est"
)

// factory is an `oob-factory serve` process.
type factory struct {
	cmd *exec.Cmd
	url string // the EST base URL
}

// startFactory runs oob-factory serve on a free loopback port with data in dir (and extra
// arguments), sending enrollments to emu, and waits for its listening line.
func startFactory(t *testing.T, dir string, emu *emulatortest.Emulator, extra ...string) *factory {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "oob-factory"), append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0",
		"--hostname", "127.0.0.1", "--line", "7", "--ca-file", filepath.Join(emu.Dir, tlsca.CertFile)}, extra...)...)
	cmd.Env = append(os.Environ(), "DPS_CONNECTION_STRING="+emu.ConnectionString.Secret())
	return &factory{cmd: cmd, url: startServing(t, cmd, "/.well-known/est/simpleenroll")}
}

// startServing starts cmd, a server that logs `url=https://…` once it listens, and returns that
// URL without the suffix; the server is killed when the test ends.
func startServing(t *testing.T, cmd *exec.Cmd, suffix string) string {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, after, ok := strings.Cut(sc.Text(), "url=https://"); ok {
				select {
				case found <- "https://" + strings.TrimSuffix(strings.Fields(after)[0], suffix):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not say it was listening within 30 s", strings.Join(cmd.Args[:2], " "))
		return ""
	}
}

// stationClient asks the factory for board certificates as a station, with the project's own EST
// client (pkg/est), trusting the factory's root in dataDir.
type stationClient struct {
	http  *http.Client
	token string
}

func newStationClient(t *testing.T, dataDir, token string) *stationClient {
	t.Helper()
	root, err := os.ReadFile(filepath.Join(dataDir, "ca-root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		t.Fatal("no root certificate in the factory's data")
	}
	return &stationClient{http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, token: token}
}

// enroll sends guid's CSR to the factory at base and returns the leaf it issues.
func (c *stationClient) enroll(base, guid string, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: guid}}, key)
	if err != nil {
		return nil, err
	}
	cl := &est.Client{URL: base, Token: []byte(c.token), HTTPClient: c.http}
	chain, err := cl.SimpleEnroll(context.Background(), der)
	if err != nil {
		return nil, err
	}
	if len(chain) == 0 || chain[0].Subject.CommonName != guid {
		return nil, fmt.Errorf("simpleenroll %s: no leaf for the board first in the answer", guid)
	}
	return chain[0], nil
}

type board struct {
	guid string
	key  *ecdsa.PrivateKey
}

// TestFactoryKilledDuringABurst kills oob-factory with SIGKILL in the middle of 200
// certifications while DPS is slow and throttling. After a restart every certificate handed out
// is on record, a board asking again gets the same one, and once DPS answers each board has
// exactly one enrollment, disabled, holding that certificate.
func TestFactoryKilledDuringABurst(t *testing.T) {
	const n, killAfter, workers = 200, 70, 8
	emu := emulatortest.Start(t)
	if err := emu.Faults.Set(dpsemu.FaultConfig{Latency: dpsemu.Duration(20 * time.Millisecond), LatencyJitter: dpsemu.Duration(30 * time.Millisecond),
		ThrottleProbability: 0.3, RetryAfter: dpsemu.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	run(t, "oob-factory", "ca", "init", "--data", data)
	token := strings.TrimSpace(run(t, "oob-factory", "station", "add", "line7", "--data", data))
	station := newStationClient(t, data, token)
	boards := make([]board, n)
	for i := range boards {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		boards[i] = board{guid: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), key: k}
	}

	f := startFactory(t, data, emu)
	var mu sync.Mutex
	handed := map[string]string{} // GUID → serial (hex) of the certificate the station received
	var answered atomic.Int32
	var killOnce sync.Once
	next := make(chan board)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range next {
				leaf, err := station.enroll(f.url, b.guid, b.key)
				if err != nil {
					continue // the kill: whether it was recorded is found out below
				}
				mu.Lock()
				handed[b.guid] = leaf.SerialNumber.Text(16)
				mu.Unlock()
				if answered.Add(1) == killAfter {
					killOnce.Do(func() { _ = f.cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		})
	}
	for _, b := range boards {
		next <- b
	}
	close(next)
	wg.Wait()
	_ = f.cmd.Wait()
	if len(handed) < killAfter || len(handed) == n {
		t.Fatalf("%d of %d certificates handed out before the kill; the kill did not land mid-burst", len(handed), n)
	}
	t.Logf("%d certificates handed out before SIGKILL", len(handed))

	f = startFactory(t, data, emu)
	for _, b := range boards {
		leaf, err := station.enroll(f.url, b.guid, b.key)
		if err != nil {
			t.Fatalf("after the restart: %v", err)
		}
		if s, ok := handed[b.guid]; ok && s != leaf.SerialNumber.Text(16) {
			t.Errorf("%s asked again and got certificate %s, not the %s handed out before the kill", b.guid, leaf.SerialNumber, s)
		}
		handed[b.guid] = leaf.SerialNumber.Text(16)
	}
	if err := emu.Faults.Set(dpsemu.FaultConfig{}); err != nil {
		t.Fatal(err)
	}

	var st struct {
		Boards []struct {
			GUID, Serial, State string
		} `json:"boards"`
		Pending, Failed []json.RawMessage
	}
	waitFor(t, "every board pre-enrolled", 90*time.Second, func() bool {
		if err := json.Unmarshal([]byte(run(t, "oob-factory", "status", "--data", data, "--format", "json")), &st); err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, b := range st.Boards {
			if b.State == "pre-enrolled" {
				done++
			}
		}
		return done == n || len(st.Failed) > 0
	})
	if len(st.Boards) != n || len(st.Pending) != 0 || len(st.Failed) != 0 {
		t.Fatalf("status: %d boards, %d pending, %d failed; want %d, 0, 0", len(st.Boards), len(st.Pending), len(st.Failed), n)
	}
	for _, b := range st.Boards {
		if handed[b.GUID] != b.Serial {
			t.Errorf("%s: recorded with certificate %s, handed out %s", b.GUID, b.Serial, handed[b.GUID])
		}
	}

	svc := emu.Client(t, dps.Options{})
	enrolled := map[string]int{}
	for e, err := range svc.QueryEnrollments(context.Background(), "SELECT * FROM enrollments", 100) {
		if err != nil {
			t.Fatal(err)
		}
		enrolled[e.RegistrationID]++
		info := enrolledInfo(t, &e)
		if e.ProvisioningStatus != dpsapi.StatusDisabled || !strings.EqualFold(info.SerialNumber, handed[e.RegistrationID]) {
			t.Errorf("%s: %s with certificate %s, want disabled with %s", e.RegistrationID, e.ProvisioningStatus, info.SerialNumber, handed[e.RegistrationID])
		}
	}
	if len(enrolled) != n {
		t.Errorf("DPS holds %d enrollments, want %d", len(enrolled), n)
	}
}

// enrolledInfo is what DPS reports of an X.509 enrollment's primary client certificate.
func enrolledInfo(t *testing.T, e *dpsapi.IndividualEnrollment) *dpsapi.X509CertificateInfo {
	t.Helper()
	if e.Attestation == nil || e.Attestation.X509 == nil || e.Attestation.X509.ClientCertificates == nil ||
		e.Attestation.X509.ClientCertificates.Primary == nil || e.Attestation.X509.ClientCertificates.Primary.Info == nil {
		t.Fatalf("%s: not an X.509 enrollment with a client certificate", e.RegistrationID)
	}
	return e.Attestation.X509.ClientCertificates.Primary.Info
}

// `companion enrollment show` of a board's enrollment prints its certificate's SHA-1 thumbprint
// (what DPS's portal shows) and its SHA-256 one (what IoT Hub's shows), as openssl computes them.
func TestEnrollmentShowPrintsBothThumbprints(t *testing.T) {
	openssl := qrtest.Tool(t, "openssl", "openssl")
	emu := emulatortest.Start(t)
	ca, err := boardca.Init(t.TempDir(), "Board Maker", boardca.ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const guid = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := ca.IssueBoard(guid, key.Public(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(t.TempDir(), "leaf.pem")
	if err := os.WriteFile(certFile, boardca.PEM(leaf), 0o644); err != nil {
		t.Fatal(err)
	}
	enroll(t, emu.Client(t, dps.Options{}), &dpsapi.IndividualEnrollment{RegistrationID: guid, ProvisioningStatus: dpsapi.StatusDisabled,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationX509, X509: &dpsapi.X509Attestation{
			ClientCertificates: &dpsapi.X509Certificates{Primary: &dpsapi.X509CertificateWithInfo{Certificate: string(boardca.PEM(leaf))}}}}})
	env := []string{"DPS_CONNECTION_STRING=" + emu.ConnectionString.Secret(), "DPS_CA_FILE=" + filepath.Join(emu.Dir, tlsca.CertFile)}
	out := runEnv(t, env, "companion", "enrollment", "show", guid)
	for _, alg := range []string{"sha1", "sha256"} {
		fp, err := exec.Command(openssl, "x509", "-in", certFile, "-noout", "-fingerprint", "-"+alg).Output()
		if err != nil {
			t.Fatal(err)
		}
		_, hexfp, _ := strings.Cut(strings.TrimSpace(string(fp)), "=")
		want := strings.ReplaceAll(hexfp, ":", "")
		if !strings.Contains(strings.ToUpper(out), want) {
			t.Errorf("enrollment show lacks the %s thumbprint %s:\n%s", alg, want, out)
		}
	}
	if !strings.Contains(out, "X.509") || !strings.Contains(out, "CN="+guid) {
		t.Errorf("enrollment show does not name the X.509 certificate:\n%s", out)
	}
}

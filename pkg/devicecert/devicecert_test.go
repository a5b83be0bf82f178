package devicecert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/esttest"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/est"
	"github.com/oobtpm/oob/pkg/tpm"
)

const guid = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

func TestNormalizeHardwareID(t *testing.T) {
	for in, want := range map[string]string{
		guid:                                     guid,
		"0B7E2C1A-3F4D-4E5F-8A9B-0C1D2E3F4A5B":   guid,
		"0b7e2c1a3f4d4e5f8a9b0c1d2e3f4a5b":       "",
		"{0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b}": "",
		"0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5g":   "",
		"":                                       "",
	} {
		got, err := NormalizeHardwareID(in)
		if want == "" {
			if !errors.Is(err, ErrInvalidHardwareID) || !strings.Contains(err.Error(), "8-4-4-4-12") {
				t.Errorf("%q: got %q, %v; want ErrInvalidHardwareID saying the form", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestReadHardwareID(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "product_uuid")
	// As DMI shows it: upper case, a newline.
	if err := os.WriteFile(file, []byte(strings.ToUpper(guid)+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadHardwareID(file); err != nil || got != guid {
		t.Errorf("got %q, %v; want %q", got, err, guid)
	}
	if _, err := ReadHardwareID(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "--hardware-id") {
		t.Errorf("a missing file: %v; want an error naming --hardware-id", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("Not Settable\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadHardwareID(bad); !errors.Is(err, ErrInvalidHardwareID) || !strings.Contains(err.Error(), bad) {
		t.Errorf("a non-GUID: %v; want ErrInvalidHardwareID naming the file", err)
	}
}

func enroller(t *testing.T, srv *esttest.Server) *est.Client {
	t.Helper()
	pool, err := cafile.Load(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return &est.Client{URL: srv.URL, Token: []byte(srv.Token), HTTPClient: &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
}

func noTPM(context.Context) (*tpm.TPM, error) {
	_, err := tpm.Open(context.Background(), tpm.Config{Path: "/nonexistent/tpmrm0"})
	return nil, err
}

// TestCertifyWithFileKey runs the whole flow against the factory's EST server: a key file made
// once, the chain stored, the same certificate on a second run, and a replaced key refused.
func TestCertifyWithFileKey(t *testing.T) {
	srv := esttest.Start(t)
	state := t.TempDir()
	ctx := context.Background()
	key, err := OpenKey(ctx, KeyAuto, KeyPath(state), noTPM)
	if err != nil {
		t.Fatal(err)
	}
	if key.Kind != KeyFile || !key.Created {
		t.Fatalf("without a TPM: key %s, created %v; want a new key file", key.Kind, key.Created)
	}
	if info, err := os.Stat(KeyPath(state)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v; want mode 0600", info.Mode(), err)
	}
	req := Request{HardwareID: guid, Key: key.Signer, ChainFile: ChainPath(state), Enroller: enroller(t, srv)}
	res, err := Certify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Leaf().Subject.CommonName != guid || len(res.Chain) != 3 || res.Unchanged {
		t.Fatalf("leaf %q, %d certificates, unchanged %v", res.Leaf().Subject.CommonName, len(res.Chain), res.Unchanged)
	}
	b, err := os.ReadFile(ChainPath(state))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := est.ParsePEM(b)
	if err != nil || !stored[0].Equal(res.Leaf()) || !stored[2].Equal(srv.CA.Root) {
		t.Fatalf("stored chain: %v", err)
	}
	keyPEM, err := os.ReadFile(KeyPath(state))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(b, keyPEM); err != nil {
		t.Errorf("the stored chain and key are not a TLS key pair: %v", err)
	}

	again, err := OpenKey(ctx, KeyAuto, KeyPath(state), noTPM)
	if err != nil || again.Created {
		t.Fatalf("second run: created %v, %v; want the stored key", again.Created, err)
	}
	req.Key = again.Signer
	res2, err := Certify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Unchanged || !res2.Leaf().Equal(res.Leaf()) {
		t.Error("a second run did not get the same certificate")
	}

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	req.Key = other
	_, err = Certify(ctx, req)
	t.Log(err)
	if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "oob-factory board reissue "+guid) {
		t.Fatalf("another key over the stored chain: %v; want ErrKeyMismatch naming the re-issue", err)
	}
	if boards, _ := srv.Store.Boards(ctx); len(boards) != 1 {
		t.Errorf("the factory holds %d boards, want 1", len(boards))
	}
}

// answer is an Enroller that answers with fixed certificates, as a wrong server might.
type answer []*x509.Certificate

func (a answer) SimpleEnroll(context.Context, []byte) ([]*x509.Certificate, error) { return a, nil }

func TestCertifyRefusesAnotherBoardsCertificate(t *testing.T) {
	srv := esttest.Start(t)
	ctx := context.Background()
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	state := t.TempDir()
	res, err := Certify(ctx, Request{HardwareID: guid, Key: k1, ChainFile: ChainPath(state), Enroller: enroller(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other := t.TempDir()
	_, err = Certify(ctx, Request{HardwareID: guid, Key: k2, ChainFile: ChainPath(other), Enroller: answer(res.Chain)})
	if !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("got %v, want ErrBadAnswer", err)
	}
	if _, err := os.Stat(ChainPath(other)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a chain for another key was stored")
	}
}

func TestOpenKeyRefusesUnknownKind(t *testing.T) {
	if _, err := OpenKey(context.Background(), "hsm", KeyPath(t.TempDir()), noTPM); err == nil {
		t.Fatal("accepted key kind hsm")
	}
}

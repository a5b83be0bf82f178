package est

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/records"
)

const guid = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

type fixture struct {
	srv   *httptest.Server
	store *records.Store
	ca    *boardca.CA
	token string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ca, err := boardca.Init(dir, "Test", boardca.ECDSAP256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := records.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, ca: ca, token: "station-one-token"}
	if err := st.AddStation(context.Background(), "one", TokenHash(f.token), ""); err != nil {
		t.Fatal(err)
	}
	h := &Server{Stations: st, Certifier: &certify.Certifier{CA: ca, Store: st, Line: "L1"}, Chain: ca.Chain()}
	f.srv = httptest.NewUnstartedServer(h)
	f.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func csr(t testing.TB, cn string, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func p256(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fixture) enroll(t *testing.T, client *http.Client, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+PathSimpleEnroll, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/pkcs10")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client == nil {
		client = f.srv.Client()
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func b64(der []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(der)) }

func certs(t *testing.T, body []byte) []*x509.Certificate {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body)))
	if err != nil {
		t.Fatalf("response is not base64: %v", err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatalf("response is not PKCS#7: %v", err)
	}
	return p7.Certificates
}

func (f *fixture) boards(t *testing.T) int {
	t.Helper()
	b, err := f.store.Boards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.store.Enrollments(context.Background(), "")
	return len(b) + len(p)
}

func TestEnrollIssuesChainAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	key := p256(t)
	body := b64(csr(t, guid, key))
	code, out := f.enroll(t, nil, f.token, body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	got := certs(t, out)
	if len(got) != 3 || got[0].Subject.CommonName != guid {
		t.Fatalf("got %d certificates, first CN %q", len(got), got[0].Subject.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Root)
	inter := x509.NewCertPool()
	inter.AddCert(got[1])
	if _, err := got[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("leaf does not verify: %v", err)
	}
	if !got[0].PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Error("leaf certifies another key")
	}
	b, err := f.store.Board(context.Background(), guid)
	if err != nil || b.Station != "one" || b.Line != "L1" {
		t.Fatalf("board record: %+v %v", b, err)
	}
	pending, _ := f.store.Enrollments(context.Background(), records.OutboxPending)
	if len(pending) != 1 {
		t.Errorf("%d pending enrollments, want 1", len(pending))
	}

	// The same key again (a fresh CSR) gets the same certificate back.
	code, out = f.enroll(t, nil, f.token, b64(csr(t, guid, key)))
	if code != http.StatusOK || !certs(t, out)[0].Equal(got[0]) {
		t.Errorf("re-ask: status %d, same certificate %v", code, code == 200 && certs(t, out)[0].Equal(got[0]))
	}

	// Another key for the same GUID is refused until an operator allows it.
	other := p256(t)
	code, out = f.enroll(t, nil, f.token, b64(csr(t, guid, other)))
	if code != http.StatusConflict || !strings.Contains(string(out), "oob-factory board reissue "+guid) {
		t.Errorf("other key: status %d %s, want 409 naming board reissue", code, out)
	}
	if b2, _ := f.store.Board(context.Background(), guid); b2.Serial != b.Serial {
		t.Error("the refused request changed the board's certificate")
	}
	if err := f.store.AllowReissue(context.Background(), guid, "op", "new board"); err != nil {
		t.Fatal(err)
	}
	code, out = f.enroll(t, nil, f.token, b64(csr(t, guid, other)))
	if code != http.StatusOK || !certs(t, out)[0].PublicKey.(*ecdsa.PublicKey).Equal(other.Public()) {
		t.Errorf("after reissue allowed: status %d", code)
	}
}

func TestCACerts(t *testing.T) {
	f := newFixture(t)
	res, err := f.srv.Client().Get(f.srv.URL + PathCACerts)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/pkcs7-mime") {
		t.Errorf("content type %q", ct)
	}
	got := certs(t, b)
	if len(got) != 2 || !got[0].Equal(f.ca.Intermediate) || !got[1].Equal(f.ca.Root) {
		t.Errorf("cacerts returned %d certificates, want the intermediate and root", len(got))
	}
}

func TestRefusalsRecordNothing(t *testing.T) {
	f := newFixture(t)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	forged := csr(t, guid, p256(t))
	forged[len(forged)-3] ^= 0xff // inside the signature
	valid := csr(t, guid, p256(t))

	for _, tc := range []struct {
		name  string
		token string
		body  []byte
		code  int
		say   string
	}{
		{"no token", "", b64(valid), http.StatusUnauthorized, "unknown station"},
		{"unknown token", "guess", b64(valid), http.StatusUnauthorized, "unknown station"},
		{"weak RSA", f.token, b64(csr(t, guid, rsa1024)), http.StatusBadRequest, "at least 2048"},
		{"P-224", f.token, b64(csr(t, guid, p224)), http.StatusBadRequest, "P-256"},
		{"forged signature", f.token, b64(forged), http.StatusBadRequest, ""},
		{"upper case", f.token, b64(csr(t, strings.ToUpper(guid), p256(t))), http.StatusBadRequest, "DPS refuses upper case"},
		{"not a GUID", f.token, b64(csr(t, "board-42", p256(t))), http.StatusBadRequest, "8-4-4-4-12"},
		{"not base64", f.token, []byte("%%%"), http.StatusBadRequest, "base64"},
		{"oversized", f.token, bytes.Repeat([]byte("A"), MaxRequestBytes+1), http.StatusRequestEntityTooLarge, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := f.enroll(t, nil, tc.token, tc.body)
			if code != tc.code || !strings.Contains(string(out), tc.say) {
				t.Errorf("status %d %q, want %d saying %q", code, out, tc.code, tc.say)
			}
			if n := f.boards(t); n != 0 {
				t.Errorf("%d records after a refusal", n)
			}
		})
	}
}

func TestStationClientCertificate(t *testing.T) {
	f := newFixture(t)
	stationCert, err := f.ca.ServerCertificate([]string{"station-two"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	client := f.srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{stationCert}
	if code, _ := f.enroll(t, client, "", b64(csr(t, guid, p256(t)))); code != http.StatusUnauthorized {
		t.Fatalf("unregistered client certificate: status %d, want 401", code)
	}
	if err := f.store.AddStation(context.Background(), "two", "", CertificateHash(stationCert.Certificate[0])); err != nil {
		t.Fatal(err)
	}
	code, out := f.enroll(t, client, "", b64(csr(t, guid, p256(t))))
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	if b, _ := f.store.Board(context.Background(), guid); b.Station != "two" {
		t.Errorf("board recorded as from station %q", b.Station)
	}
}

// TestRequestExtensionsNotHonoured asks for a CA certificate, server authentication and a host
// name; the leaf must carry none of them.
func TestRequestExtensionsNotHonoured(t *testing.T) {
	f := newFixture(t)
	ekuServer, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}})
	basicCA, _ := asn1.Marshal(struct{ IsCA bool }{true})
	tmpl := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: guid},
		DNSNames: []string{"evil.example.com"},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: ekuServer},
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: basicCA},
		},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, p256(t))
	if err != nil {
		t.Fatal(err)
	}
	code, out := f.enroll(t, nil, f.token, b64(der))
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	leaf := certs(t, out)[0]
	if leaf.IsCA || len(leaf.DNSNames) != 0 || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("leaf honoured the request: CA %v, DNS %v, EKU %v", leaf.IsCA, leaf.DNSNames, leaf.ExtKeyUsage)
	}
}

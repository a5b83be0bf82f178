package est_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/esttest"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/est"
)

// These tests run the client against the factory's own EST server (internal/factory/est), in
// process over TLS, so that both sides of the protocol are checked against each other.

var update = flag.Bool("update", false, "rewrite testdata from the factory's EST server")

const guid = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

func newKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func request(t *testing.T, cn string, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// client returns a client for srv trusting the factory's root, with token.
func client(t *testing.T, srv *esttest.Server, token string) *est.Client {
	t.Helper()
	pool, err := cafile.Load(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return &est.Client{URL: srv.URL, Token: []byte(token), HTTPClient: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}}
}

func TestSimpleEnrollAgainstFactory(t *testing.T) {
	srv := esttest.Start(t)
	c := client(t, srv, srv.Token)
	key := newKey(t)
	certs, err := c.SimpleEnroll(context.Background(), request(t, guid, key))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 || certs[0].Subject.CommonName != guid || !certs[0].PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Fatalf("got %d certificates, the first for %q; want the board's leaf and its chain", len(certs), certs[0].Subject.CommonName)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.CA.Root)
	inter := x509.NewCertPool()
	inter.AddCert(certs[1])
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the leaf does not chain to the factory's root: %v", err)
	}
	again, err := c.SimpleEnroll(context.Background(), request(t, guid, key))
	if err != nil {
		t.Fatal(err)
	}
	if !again[0].Equal(certs[0]) {
		t.Error("the same key asked again got another certificate")
	}
	if *update {
		writeGolden(t, srv, c, key)
	}
}

// writeGolden stores a real answer, and the chain as PEM, for the parser tests and fuzzers.
func writeGolden(t *testing.T, srv *esttest.Server, c *est.Client, key crypto.Signer) {
	req, _ := http.NewRequest(http.MethodPost, srv.URL+est.PathSimpleEnroll, strings.NewReader(base64.StdEncoding.EncodeToString(request(t, guid, key))))
	req.Header.Set("Content-Type", "application/pkcs10")
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	res, err := c.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "simpleenroll.b64"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	certs, err := est.ParseCertsOnly(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "chain.pem"), est.EncodePEM(certs), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSimpleEnrollRefusals(t *testing.T) {
	srv := esttest.Start(t)
	ctx := context.Background()
	first := newKey(t)
	if _, err := client(t, srv, srv.Token).SimpleEnroll(ctx, request(t, guid, first)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		token  string
		cn     string
		kind   error
		code   int
		saying string
	}{
		{name: "no token", cn: guid, kind: est.ErrUnauthorized, code: 401, saying: "unknown station"},
		{name: "wrong token", token: "not-the-token", cn: guid, kind: est.ErrUnauthorized, code: 401, saying: "unknown station"},
		{name: "another key for the board", token: srv.Token, cn: guid, kind: est.ErrConflict, code: 409, saying: "oob-factory board reissue"},
		{name: "upper-case GUID", token: srv.Token, cn: strings.ToUpper("1b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"), kind: est.ErrRefused, code: 400, saying: "lower case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(t, srv, tc.token).SimpleEnroll(ctx, request(t, tc.cn, newKey(t)))
			t.Log(err)
			var se *est.StatusError
			if !errors.Is(err, tc.kind) || !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(err.Error(), tc.saying) {
				t.Fatalf("got %v; want %v, status %d, saying %q", err, tc.kind, tc.code, tc.saying)
			}
		})
	}
}

func TestSimpleEnrollVerifiesTheServer(t *testing.T) {
	srv := esttest.Start(t)
	c := &est.Client{URL: srv.URL, Token: []byte(srv.Token)} // the system's CAs only
	_, err := c.SimpleEnroll(context.Background(), request(t, guid, newKey(t)))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("got %v; want the server's certificate refused as signed by an unknown authority", err)
	}
	if n, _ := srv.Store.Boards(context.Background()); len(n) != 0 {
		t.Error("a board was certified over an unverified connection")
	}
}

func TestCheckURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://factory.local:8443":       true,
		"https://factory.local/est-prefix": true,
		"http://factory.local:8443":        false,
		"factory.local:8443":               false,
		"https://":                         false,
		"https://user:pw@factory.local":    false,
		"https://factory.local/?x=1":       false,
	} {
		if err := est.CheckURL(u); (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok %v", u, err, ok)
		}
	}
}

package dps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/sas"
)

// certPool trusts exactly the test server's certificate.
func certPool(t *testing.T, srv *httptest.Server) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

// writeCAFile writes the server's certificate as a PEM file, as the emulator writes its CA.
func writeCAFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSPrivateCAFromFile(t *testing.T) {
	_, srv := newFakeDPS(t)
	pool, err := LoadCAFile(writeCAFile(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newTestClient(t, srv, func(o *Options) { o.RootCAs = pool })
	_, err = c.GetEnrollment(context.Background(), "absent")
	if !IsNotFound(err) {
		t.Fatalf("over a trusted private CA: err = %v, want not found", err)
	}
}

func TestTLSWrongCARefused(t *testing.T) {
	f, srv := newFakeDPS(t)
	// httptest servers share one certificate; a freshly made CA stands in for someone else's.
	wrong := x509.NewCertPool()
	wrong.AddCert(mustSelfSigned(t))
	for name, pool := range map[string]*x509.CertPool{"other CA": wrong, "system roots": nil} {
		t.Run(name, func(t *testing.T) {
			f, srv2 := f, srv
			c, sl := newTestClient(t, srv2, func(o *Options) { o.RootCAs = pool })
			_, err := c.GetEnrollment(context.Background(), "dev-1")
			if err == nil || !isCertificateError(err) || !strings.Contains(err.Error(), "does not trust") {
				t.Fatalf("err = %v, want a certificate error that says so", err)
			}
			if n := len(sl.all()); n != 0 {
				t.Errorf("a certificate error was retried %d times", n)
			}
			if n := len(f.seen()); n != 0 {
				t.Errorf("the server handled %d requests over an untrusted connection", n)
			}
		})
	}
}

func TestInsecureClientRefused(t *testing.T) {
	cs, _ := sas.ParseConnectionString(fakeConnStr)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if _, err := New(cs, Options{HTTPClient: hc}); err == nil {
		t.Fatal("New accepted a client that skips TLS verification")
	}
}

func TestEndpoint(t *testing.T) {
	cs, _ := sas.ParseConnectionString(fakeConnStr)
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "https://" + fakeHost, true},
		{"localhost:8443", "https://localhost:8443", true},
		{"https://127.0.0.1:9443/", "https://127.0.0.1:9443", true},
		{"https://dps.example/base", "https://dps.example/base", true},
		{"http://localhost:8080", "", false},
		{"ftp://x", "", false},
		{"https://", "", false},
		{"https://h/?a=b", "", false},
	}
	for _, tt := range tests {
		c, err := New(cs, Options{Endpoint: tt.in})
		if !tt.ok {
			if err == nil {
				t.Errorf("endpoint %q accepted", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("endpoint %q: %v", tt.in, err)
			continue
		}
		if c.Endpoint() != tt.want {
			t.Errorf("endpoint %q → %s, want %s", tt.in, c.Endpoint(), tt.want)
		}
	}
}

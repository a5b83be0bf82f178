package dps

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
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

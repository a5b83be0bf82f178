// Package esttest runs the factory's real EST server in process, over TLS with a certificate
// from the factory's own CA, for the tests of the clients that talk to it; no program imports it.
package esttest

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/certify"
	"github.com/oobtpm/oob/internal/factory/est"
	"github.com/oobtpm/oob/internal/factory/records"
)

// Server is a running EST server with one station.
type Server struct {
	// URL is the server's base URL, https://127.0.0.1:PORT.
	URL string
	// CAFile is the factory's root certificate in PEM, which both the server's TLS certificate
	// and the boards' certificates chain to.
	CAFile string
	// Token is the station's bearer token; TokenFile holds it, mode 0600.
	Token     string
	TokenFile string
	// CA and Store are the factory's, for checking what it issued and recorded.
	CA    *boardca.CA
	Store *records.Store
}

// Start starts a server with a fresh CA and SQLite record in a temporary directory and one
// station, "line1"; everything is closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	ca, err := boardca.Init(dir, "Test Factory", boardca.ECDSAP256, now)
	if err != nil {
		t.Fatalf("esttest: %v", err)
	}
	st, err := records.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatalf("esttest: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	s := &Server{CA: ca, Store: st, Token: "line1-station-token", CAFile: filepath.Join(dir, boardca.RootCertFile)}
	if err := st.AddStation(context.Background(), "line1", est.TokenHash(s.Token), ""); err != nil {
		t.Fatalf("esttest: %v", err)
	}
	s.TokenFile = filepath.Join(dir, "line1.token")
	if err := os.WriteFile(s.TokenFile, []byte(s.Token+"\n"), 0o600); err != nil {
		t.Fatalf("esttest: %v", err)
	}
	cert, err := ca.ServerCertificate([]string{"127.0.0.1", "localhost"}, now)
	if err != nil {
		t.Fatalf("esttest: %v", err)
	}
	h := &est.Server{Stations: st, Certifier: &certify.Certifier{CA: ca, Store: st, Line: "1"}, Chain: ca.Chain()}
	srv := httptest.NewUnstartedServer(h)
	// Handshakes a test refuses on purpose are the test's to report, not the server's log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

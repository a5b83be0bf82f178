package stack

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/datadir"
)

func TestStartServesEveryPart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := Start(context.Background(), Config{DataDir: dir, AdminListen: "127.0.0.1:0", HubListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.AdminAddr == nil || st.Hub == nil || st.HubAddr == nil {
		t.Fatalf("admin %v, hub %v at %v: want all running", st.AdminAddr, st.Hub, st.HubAddr)
	}
	if _, err := os.Stat(filepath.Join(dir, datadir.StoreFile)); err != nil {
		t.Fatalf("store in the data directory: %v", err)
	}
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: st.CA.CertPool(), ServerName: "localhost"}},
		Timeout:   10 * time.Second,
	}
	res, err := client.Get("https://" + st.Addr.String() + "/enrollments/dev?api-version=" + emulator.APIVersion)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned request: status %d, want 401", res.StatusCode)
	}
	res, err = http.Get("http://" + st.AdminAddr.String() + "/admin/faults")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden {
		t.Fatalf("admin without its token: status %d", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close after shutdown: %v", err)
	}
}

func TestRestartKeepsIdentityAndCA(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if first.AdminAddr != nil || first.Hub != nil {
		t.Fatal("admin API or hub running though not asked for")
	}
	scope, cs := first.Identity.IDScope, first.ConnectionString()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := Start(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if second.Identity.IDScope != scope {
		t.Fatalf("ID scope %q after restart, want %q", second.Identity.IDScope, scope)
	}
	if second.ConnectionString() == "" || cs == "" {
		t.Fatal("no connection string")
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if st, err := Start(context.Background(), Config{DataDir: dir, Listen: first.Addr.String()}); err == nil {
		st.Close()
		t.Fatal("started on a busy address")
	}
	// The failed start closed its store: another start on the directory works.
	st, err := Start(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}

func TestHubServiceNeedsTheHub(t *testing.T) {
	dir := t.TempDir()
	if st, err := Start(context.Background(), Config{DataDir: dir, HubServiceListen: "127.0.0.1:0"}); err == nil {
		st.Close()
		t.Fatal("the hubs' service API started without the hub")
	}
	st, err := Start(context.Background(), Config{DataDir: dir, HubListen: "127.0.0.1:0", HubServiceListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(filepath.Join(dir, datadir.HubPolicyKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 || st.HubServiceAddr == nil || st.HubConnectionString("h.localhost") == "" {
		t.Fatalf("hub policy key %v %v; service at %v", fi, err, st.HubServiceAddr)
	}
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

// A device registers with the process as a script would set it up: the ID scope from the data
// directory, the CA from ca.pem, and the flags deciding where and how fast it is assigned.
func TestDeviceRegistrationOfTheProcess(t *testing.T) {
	dir := t.TempDir()
	p := startEmulator(t, dir, "--hub-hostname", "factory-hub.localhost", "--assign-delay", "0s", "--device-retry-after", "3s")
	c := newClient(t, dir, p.Addr)
	status, body := c.do(http.MethodPut, "/enrollments/line-3-dev", `{"registrationId":"line-3-dev","attestation":{"type":"symmetricKey"}}`)
	if status != http.StatusOK {
		t.Fatalf("enroll: %d %s", status, body)
	}
	var e struct {
		Attestation struct {
			SymmetricKey struct{ PrimaryKey string }
		}
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	key, err := sas.ParseKey(e.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	scope, err := os.ReadFile(filepath.Join(dir, "id-scope"))
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	res, err := provision.Register(t.Context(), provision.Config{
		IDScope:        strings.TrimSpace(string(scope)),
		RegistrationID: "line-3-dev",
		Endpoint:       c.base,
		RootCAs:        c.http.Transport.(*http.Transport).TLSClientConfig.RootCAs,
		SymmetricKey:   &key,
		Sleep:          func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Assigned() || res.AssignedHub != "factory-hub.localhost" || res.DeviceID != "line-3-dev" {
		t.Fatalf("result: %+v", res)
	}
	if len(waits) != 1 || waits[0] != 3*time.Second {
		t.Fatalf("waits %v, want one of 3s (--device-retry-after)", waits)
	}
}

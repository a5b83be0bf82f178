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
	for _, tc := range []struct {
		retryAfter string
		want       time.Duration
	}{
		{"3s", 3 * time.Second},
		// 0 is no wait at all (Retry-After: 0), not the default second.
		{"0", 0},
	} {
		t.Run("device-retry-after "+tc.retryAfter, func(t *testing.T) {
			registerWithProcess(t, tc.retryAfter, tc.want)
		})
	}
}

func registerWithProcess(t *testing.T, retryAfter string, want time.Duration) {
	dir := t.TempDir()
	p := startEmulator(t, dir, "--hub-hostname", "factory-hub.localhost", "--assign-delay", "0s", "--device-retry-after", retryAfter)
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
	if len(waits) != 1 || waits[0] != want {
		t.Fatalf("waits %v, want one of %v (--device-retry-after %s)", waits, want, retryAfter)
	}
}

package emulator

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// statusLookup sends a device's registration status look-up, POST /{idScope}/registrations/{id}.
func (e *testEnv) statusLookup(id string, body any, auth string, cert *tls.Certificate) response {
	e.t.Helper()
	path := "/" + e.id.IDScope + "/registrations/" + id
	return e.device(http.MethodPost, path, body, auth, cert)
}

// registrationResult decodes a status look-up's 200.
func registrationResult(t *testing.T, r response) dpsapi.DeviceRegistrationResult {
	t.Helper()
	var res dpsapi.DeviceRegistrationResult
	if r.status != http.StatusOK || json.Unmarshal(r.body, &res) != nil {
		t.Fatalf("status look-up: %d %s", r.status, r.body)
	}
	return res
}

func TestDeviceStatusLookupX509(t *testing.T) {
	env := newTestEnv(t, nil)
	cert := env.deviceCertificate("x509-s")
	env.enrollment(env.do(http.MethodPut, "/enrollments/x509-s", map[string]any{
		"registrationId": "x509-s",
		"attestation":    map[string]any{"type": "x509", "x509": map[string]any{"clientCertificates": map[string]any{"primary": map[string]any{"certificate": tlsca.CertificatePEM(cert)}}}},
	}, nil), http.StatusOK)

	// Enrolled, never registered: DPS has no state for it.
	if r := env.statusLookup("x509-s", nil, "", &cert); r.status != http.StatusNotFound || r.errBody(t).ErrorCode != httpapi.CodeRegistrationNotFound {
		t.Fatalf("before registering: %d %s", r.status, r.body)
	}
	// Without its certificate, or with another, the device learns nothing.
	impostor := env.deviceCertificate("x509-s")
	for name, c := range map[string]*tls.Certificate{"no certificate": nil, "another certificate": &impostor} {
		if r := env.statusLookup("x509-s", nil, "", c); r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}

	body := dpsapi.DeviceRegistration{RegistrationID: "x509-s"}
	op := operationStatus(t, env.device(http.MethodPut, env.devicePath("x509-s", "register"), body, "", &cert), http.StatusAccepted)
	operationStatus(t, env.device(http.MethodGet, env.devicePath("x509-s", "operations", op.OperationID), nil, "", &cert), http.StatusOK)
	for _, b := range []any{nil, body} {
		res := registrationResult(t, env.statusLookup("x509-s", b, "", &cert))
		if res.Status != dpsapi.RegistrationAssigned || res.AssignedHub == "" || res.DeviceID != "x509-s" || res.ETag == "" {
			t.Errorf("after registering: %+v", res)
		}
	}
	// The look-up is a POST only; a GET there is DPS's 405.
	if r := env.device(http.MethodGet, "/"+env.id.IDScope+"/registrations/x509-s", nil, "", &cert); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %s", r.status, r.body)
	}
}

func TestDeviceStatusLookupDisabled(t *testing.T) {
	env := newTestEnv(t, nil)
	key := env.symmetricEnrollment("off-s", map[string]any{"provisioningStatus": "disabled"})
	env.registerSymmetric("off-s", key)
	res := registrationResult(t, env.statusLookup("off-s", nil, env.deviceToken("off-s", key), nil))
	if res.Status != dpsapi.RegistrationDisabled || res.RegistrationID != "off-s" {
		t.Fatalf("disabled: %+v", res)
	}
	if r := env.statusLookup("off-s", nil, env.deviceToken("off-s", bytes.Repeat([]byte{7}, 32)), nil); r.status != http.StatusUnauthorized {
		t.Fatalf("token signed with another key: %d %s", r.status, r.body)
	}
}

func TestDeviceStatusLookupTPM(t *testing.T) {
	env := newTestEnv(t, nil)
	env.enrollment(env.do(http.MethodPut, "/enrollments/tpm-s", tpmEnrollment(t, "tpm-s"), nil), http.StatusOK)
	ek, srk := testEK(t), testSRK(t)
	body := dpsapi.DeviceRegistration{RegistrationID: "tpm-s", TPM: &dpsapi.TPMAttestation{
		EndorsementKey: base64.StdEncoding.EncodeToString(ek),
		StorageRootKey: base64.StdEncoding.EncodeToString(srk),
	}}
	// A TPM without a token is refused, never challenged: a look-up changes nothing.
	if r := env.statusLookup("tpm-s", body, "", nil); r.status != http.StatusUnauthorized || bytes.Contains(r.body, []byte("authenticationKey")) {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	if keys, _ := env.store.ChallengeKeys(t.Context(), "tpm-s", ek, time.Now()); len(keys) != 0 {
		t.Fatalf("the look-up left %d challenge keys", len(keys))
	}
	env.device(http.MethodPut, env.devicePath("tpm-s", "register"), body, "", nil) // the challenge
	keys, err := env.store.ChallengeKeys(t.Context(), "tpm-s", ek, time.Now())
	if err != nil || len(keys) != 1 {
		t.Fatalf("challenge keys: %d %v", len(keys), err)
	}
	tok := env.deviceToken("tpm-s", keys[0])
	if r := env.statusLookup("tpm-s", body, tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("challenged, not registered: %d %s", r.status, r.body)
	}
	op := operationStatus(t, env.device(http.MethodPut, env.devicePath("tpm-s", "register"), body, tok, nil), http.StatusAccepted)
	operationStatus(t, env.device(http.MethodGet, env.devicePath("tpm-s", "operations", op.OperationID), nil, tok, nil), http.StatusOK)
	res := registrationResult(t, env.statusLookup("tpm-s", body, tok, nil))
	if res.Status != dpsapi.RegistrationAssigned || res.TPM != nil {
		t.Fatalf("assigned: %+v (a look-up never carries the hub key)", res)
	}
}

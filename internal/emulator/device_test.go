package emulator

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
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulator/deviceapi"
	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/dpsblob"
	"github.com/oobtpm/oob/pkg/sas"
)

// devicePath is the path of a device API resource under the environment's ID scope.
func (e *testEnv) devicePath(id string, rest ...string) string {
	return "/" + e.id.IDScope + "/registrations/" + id + "/" + strings.Join(rest, "/")
}

// device sends a device API request as a device does: api-version 2021-06-01, the given
// Authorization (none when empty) and, when cert is set, a TLS client certificate.
func (e *testEnv) device(method, path string, body any, auth string, cert *tls.Certificate) response {
	e.t.Helper()
	client := e.client
	if cert != nil {
		tr := e.client.Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		client = &http.Client{Transport: tr, Timeout: e.client.Timeout}
		defer tr.CloseIdleConnections()
	}
	return e.send(client, method, path+"?api-version="+dpsapi.DeviceAPIVersion, body, map[string]string{"Authorization": auth})
}

// deviceToken signs a device SAS token for id with key.
func (e *testEnv) deviceToken(id string, key []byte) string {
	e.t.Helper()
	tok, err := sas.NewToken(context.Background(), sas.NewKey(key), e.id.IDScope+"/registrations/"+id, "registration", time.Now().Add(time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// operationStatus decodes a register or poll answer, failing unless the status is want.
func operationStatus(t testing.TB, r response, want int) dpsapi.RegistrationOperationStatus {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	var op dpsapi.RegistrationOperationStatus
	if err := json.Unmarshal(r.body, &op); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return op
}

// symmetricEnrollment enrolls id with generated symmetric keys and returns the primary one.
func (e *testEnv) symmetricEnrollment(id string, extra map[string]any) []byte {
	e.t.Helper()
	body := map[string]any{"registrationId": id, "attestation": map[string]any{"type": "symmetricKey"}}
	for k, v := range extra {
		body[k] = v
	}
	en := e.enrollment(e.do(http.MethodPut, "/enrollments/"+id, body, nil), http.StatusOK)
	key, err := base64.StdEncoding.DecodeString(en.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return key
}

// registerSymmetric registers id with key and returns the operation after its first poll.
func (e *testEnv) registerSymmetric(id string, key []byte) dpsapi.RegistrationOperationStatus {
	e.t.Helper()
	tok := e.deviceToken(id, key)
	op := operationStatus(e.t, e.device(http.MethodPut, e.devicePath(id, "register"), dpsapi.DeviceRegistration{RegistrationID: id}, tok, nil), http.StatusAccepted)
	return operationStatus(e.t, e.device(http.MethodGet, e.devicePath(id, "operations", op.OperationID), nil, tok, nil), http.StatusOK)
}

func TestDeviceRegisterSymmetricKey(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.RetryAfter = 2 * time.Second })
	key := env.symmetricEnrollment("sym-1", map[string]any{"deviceId": "Device-1", "iotHubs": []string{"hub-a.azure-devices.net"}})
	tok := env.deviceToken("sym-1", key)

	r := env.device(http.MethodPut, env.devicePath("sym-1", "register"), dpsapi.DeviceRegistration{RegistrationID: "sym-1"}, tok, nil)
	op := operationStatus(t, r, http.StatusAccepted)
	if op.Status != "assigning" || !strings.HasPrefix(op.OperationID, "5.") || r.header.Get("Retry-After") != "2" {
		t.Fatalf("register: %s, Retry-After %q", r.body, r.header.Get("Retry-After"))
	}
	st := env.do(http.MethodGet, "/registrations/sym-1", nil, nil)
	if !bytes.Contains(st.body, []byte(`"status":"assigning"`)) {
		t.Fatalf("registration state while assigning: %s", st.body)
	}

	got := operationStatus(t, env.device(http.MethodGet, env.devicePath("sym-1", "operations", op.OperationID), nil, tok, nil), http.StatusOK)
	rs := got.RegistrationState
	if got.Status != "assigned" || got.OperationID != op.OperationID || rs == nil ||
		rs.AssignedHub != "hub-a.azure-devices.net" || rs.DeviceID != "Device-1" || rs.Status != "assigned" ||
		rs.Substatus != "initialAssignment" || rs.ETag == "" || rs.CreatedDateTimeUTC.IsZero() || rs.RegistrationID != "sym-1" {
		t.Fatalf("assigned: %+v %+v", got, rs)
	}
	// The service API shows the same state, alone and in the enrollment.
	var state dpsapi.DeviceRegistrationState
	if r := env.do(http.MethodGet, "/registrations/sym-1", nil, nil); json.Unmarshal(r.body, &state) != nil || state.ETag != rs.ETag || state.AssignedHub != rs.AssignedHub || state.Substatus != "initialAssignment" {
		t.Fatalf("service API state: %s", r.body)
	}
	if en := env.enrollment(env.do(http.MethodGet, "/enrollments/sym-1", nil, nil), http.StatusOK); en.RegistrationState == nil || en.RegistrationState.ETag != rs.ETag {
		t.Fatalf("enrollment's registration state: %+v", en.RegistrationState)
	}
	// The hub knows the device by its enrollment keys, under a host name of any case.
	hd, err := env.store.HubDevice(t.Context(), "HUB-A.azure-devices.net", "Device-1")
	if err != nil || hd.RegistrationID != "sym-1" || !hd.PrimaryKey.Equal(sas.NewKey(key)) || hd.SecondaryKey.IsZero() || hd.Attestation != dpsapi.AttestationSymmetricKey {
		t.Fatalf("hub device: %+v %v", hd, err)
	}
	if _, err := env.store.HubDevice(t.Context(), "hub-a.azure-devices.net", "device-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("device IDs are case-sensitive: %v", err)
	}
	// Polling again returns the same decision.
	again := operationStatus(t, env.device(http.MethodGet, env.devicePath("sym-1", "operations", op.OperationID), nil, tok, nil), http.StatusOK)
	if again.RegistrationState.ETag != rs.ETag {
		t.Fatal("a second poll decided again")
	}
}

func TestDeviceRegisterRefusals(t *testing.T) {
	env := newTestEnv(t, nil)
	key := env.symmetricEnrollment("sym-2", nil)
	good := env.deviceToken("sym-2", key)
	other := env.deviceToken("sym-2", bytes.Repeat([]byte{7}, 32))
	// Expired beyond the clock skew DPS allows.
	expired, err := sas.NewToken(context.Background(), sas.NewKey(key), env.id.IDScope+"/registrations/sym-2", "registration", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	body := dpsapi.DeviceRegistration{RegistrationID: "sym-2"}
	cases := []struct {
		name       string
		path, auth string
		body       any
		query      string
		want, code int
	}{
		{"wrong ID scope", "/0ne00000000/registrations/sym-2/register", good, body, "", 401, httpapi.CodeUnauthorized},
		{"no token", env.devicePath("sym-2", "register"), "", body, "", 401, httpapi.CodeUnauthorized},
		{"token signed with another key", env.devicePath("sym-2", "register"), other, body, "", 401, httpapi.CodeUnauthorized},
		{"expired token", env.devicePath("sym-2", "register"), expired, body, "", 401, httpapi.CodeUnauthorized},
		{"token for another device", env.devicePath("sym-2", "register"), env.deviceToken("sym-3", key), body, "", 401, httpapi.CodeUnauthorized},
		{"unknown registration ID", env.devicePath("nobody", "register"), env.deviceToken("nobody", key), dpsapi.DeviceRegistration{RegistrationID: "nobody"}, "", 401, httpapi.CodeUnauthorized},
		{"body names another device", env.devicePath("sym-2", "register"), good, dpsapi.DeviceRegistration{RegistrationID: "sym-3"}, "", 400, httpapi.CodeInvalidArgument},
		{"unknown field", env.devicePath("sym-2", "register"), good, `{"registrationId":"sym-2","tmp":{}}`, "", 400, httpapi.CodeMalformedBody},
		{"two objects", env.devicePath("sym-2", "register"), good, `{"registrationId":"sym-2"}{}`, "", 400, httpapi.CodeMalformedBody},
		{"no body", env.devicePath("sym-2", "register"), good, nil, "", 400, httpapi.CodeMalformedBody},
		{"too large", env.devicePath("sym-2", "register"), good, `{"registrationId":"sym-2","payload":"` + strings.Repeat("a", httpapi.DefaultMaxBodyBytes) + `"}`, "", 413, httpapi.CodeBodyTooLarge},
		{"unknown api-version", env.devicePath("sym-2", "register"), good, body, "2020-01-01", 400, httpapi.CodeInvalidAPIVersion},
		{"unknown operation", env.devicePath("sym-2", "operations", "5.0.0"), good, nil, "", 404, httpapi.CodeOperationNotFound},
		{"GET register", env.devicePath("sym-2", "register"), good, nil, "", 405, httpapi.CodeMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := http.MethodPut
			if strings.Contains(c.path, "/operations/") || c.name == "GET register" {
				method = http.MethodGet
			}
			version := dpsapi.DeviceAPIVersion
			if c.query != "" {
				version = c.query
			}
			r := env.send(env.client, method, c.path+"?api-version="+version, c.body, map[string]string{"Authorization": c.auth})
			if r.status != c.want || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want %d (%d): %s", r.status, c.want, c.code, r.body)
			}
			if bytes.Contains(r.body, []byte("authenticationKey")) {
				t.Fatalf("challenge sent to a device that is not a TPM: %s", r.body)
			}
		})
	}
	// The older API version devices send is accepted.
	r := env.send(env.client, http.MethodPut, env.devicePath("sym-2", "register")+"?api-version=2019-03-31", body, map[string]string{"Authorization": good})
	if r.status != http.StatusAccepted {
		t.Fatalf("api-version 2019-03-31: %d %s", r.status, r.body)
	}
	// A poll must be signed with the key that registered.
	op := operationStatus(t, r, http.StatusAccepted)
	if r := env.device(http.MethodGet, env.devicePath("sym-2", "operations", op.OperationID), nil, other, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("poll with another key: %d %s", r.status, r.body)
	}
}

func TestDeviceRegisterSecondaryKeyAndFaults(t *testing.T) {
	env := newTestEnv(t, nil)
	env.symmetricEnrollment("sym-4", nil)
	en := env.enrollment(env.do(http.MethodGet, "/enrollments/sym-4", nil, nil), http.StatusOK)
	secondary, _ := base64.StdEncoding.DecodeString(en.Attestation.SymmetricKey.SecondaryKey)
	if err := env.faults.Set(FaultConfig{ThrottleEvery: 1}); err != nil {
		t.Fatal(err)
	}
	r := env.device(http.MethodPut, env.devicePath("sym-4", "register"), dpsapi.DeviceRegistration{RegistrationID: "sym-4"}, env.deviceToken("sym-4", secondary), nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("throttled device request: %d %s", r.status, r.body)
	}
	_ = env.faults.Set(FaultConfig{})
	if op := env.registerSymmetric("sym-4", secondary); op.Status != "assigned" {
		t.Fatalf("secondary key: %+v", op)
	}
}

func TestDeviceRegisterDisabledAndDeleted(t *testing.T) {
	env := newTestEnv(t, nil)
	key := env.symmetricEnrollment("off-1", map[string]any{"provisioningStatus": "disabled"})
	op := env.registerSymmetric("off-1", key)
	if op.Status != "disabled" || op.RegistrationState.Status != "disabled" {
		t.Fatalf("disabled enrollment: %+v", op)
	}
	if r := env.do(http.MethodGet, "/registrations/off-1", nil, nil); !bytes.Contains(r.body, []byte(`"status":"disabled"`)) {
		t.Fatalf("state of a disabled device: %s", r.body)
	}

	key = env.symmetricEnrollment("gone-1", nil)
	tok := env.deviceToken("gone-1", key)
	started := operationStatus(t, env.device(http.MethodPut, env.devicePath("gone-1", "register"), dpsapi.DeviceRegistration{RegistrationID: "gone-1"}, tok, nil), http.StatusAccepted)
	env.do(http.MethodDelete, "/enrollments/gone-1", nil, nil)
	op = operationStatus(t, env.device(http.MethodGet, env.devicePath("gone-1", "operations", started.OperationID), nil, tok, nil), http.StatusOK)
	if op.Status != "failed" || op.RegistrationState.ErrorCode != httpapi.CodeEnrollmentNotFound || op.RegistrationState.ErrorMessage == "" {
		t.Fatalf("enrollment deleted while assigning: %+v", op.RegistrationState)
	}

	// Keys rotated while assigning: the registration fails rather than assign with a revoked key.
	key = env.symmetricEnrollment("rot-1", nil)
	tok = env.deviceToken("rot-1", key)
	started = operationStatus(t, env.device(http.MethodPut, env.devicePath("rot-1", "register"), dpsapi.DeviceRegistration{RegistrationID: "rot-1"}, tok, nil), http.StatusAccepted)
	env.symmetricEnrollment("rot-1", nil)
	op = operationStatus(t, env.device(http.MethodGet, env.devicePath("rot-1", "operations", started.OperationID), nil, tok, nil), http.StatusOK)
	if op.Status != "failed" || op.RegistrationState.ErrorCode != httpapi.CodeUnauthorized {
		t.Fatalf("keys rotated while assigning: %+v", op.RegistrationState)
	}
}

func TestDeviceAssignDelay(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := newTestEnv(t, func(o *Options) { o.AssignDelay = 5 * time.Second; o.Now = clock })
	key := env.symmetricEnrollment("slow-1", nil)
	tok := env.deviceToken("slow-1", key)
	op := operationStatus(t, env.device(http.MethodPut, env.devicePath("slow-1", "register"), dpsapi.DeviceRegistration{RegistrationID: "slow-1"}, tok, nil), http.StatusAccepted)
	poll := env.devicePath("slow-1", "operations", op.OperationID)
	r := env.device(http.MethodGet, poll, nil, tok, nil)
	if got := operationStatus(t, r, http.StatusAccepted); got.Status != "assigning" || got.RegistrationState.Status != "assigning" || r.header.Get("Retry-After") != "1" {
		t.Fatalf("before the delay: %s", r.body)
	}
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	if got := operationStatus(t, env.device(http.MethodGet, poll, nil, tok, nil), http.StatusOK); got.Status != "assigned" {
		t.Fatalf("after the delay: %+v", got)
	}
}

func TestDeviceReprovisioning(t *testing.T) {
	cases := []struct {
		name             string
		policy           *dpsapi.ReprovisionPolicy
		newHub           string
		wantHub, wantSub string
	}{
		{"same hub", nil, "hub-a", "hub-a", "reprovisionedToInitialAssignment"},
		{"moved, data migrated", nil, "hub-b", "hub-b", "deviceDataMigrated"},
		{"moved, data reset", &dpsapi.ReprovisionPolicy{UpdateHubAssignment: true}, "hub-b", "hub-b", "deviceDataReset"},
		{"hub kept", &dpsapi.ReprovisionPolicy{MigrateDeviceData: true}, "hub-b", "hub-a", "reprovisionedToInitialAssignment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, nil)
			extra := map[string]any{"iotHubHostName": "hub-a"}
			if c.policy != nil {
				extra["reprovisionPolicy"] = c.policy
			}
			key := env.symmetricEnrollment("re-1", extra)
			if op := env.registerSymmetric("re-1", key); op.RegistrationState.Substatus != "initialAssignment" {
				t.Fatalf("first registration: %+v", op.RegistrationState)
			}
			en := env.enrollment(env.do(http.MethodGet, "/enrollments/re-1", nil, nil), http.StatusOK)
			en.IoTHubHostName = c.newHub
			env.enrollment(env.do(http.MethodPut, "/enrollments/re-1", en, nil), http.StatusOK)
			op := env.registerSymmetric("re-1", key)
			if rs := op.RegistrationState; op.Status != "assigned" || rs.AssignedHub != c.wantHub || rs.Substatus != c.wantSub {
				t.Fatalf("second registration: %+v", rs)
			}
			if _, err := env.store.HubDevice(t.Context(), c.wantHub, "re-1"); err != nil {
				t.Fatalf("device not in %s: %v", c.wantHub, err)
			}
			if c.wantHub != "hub-a" {
				if _, err := env.store.HubDevice(t.Context(), "hub-a", "re-1"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("device still in the hub it left: %v", err)
				}
			}
		})
	}
}

// testSRK returns a well-formed RSA-2048 SRK TPM2B_PUBLIC (TCG template), size prefix included.
func testSRK(t testing.TB) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub := tpm2.RSASRKTemplate
	pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.Bytes()})
	return tpm2.Marshal(tpm2.New2B(pub))
}

func TestDeviceRegisterTPM(t *testing.T) {
	env := newTestEnv(t, nil)
	env.enrollment(env.do(http.MethodPut, "/enrollments/tpm-1", tpmEnrollment(t, "tpm-1"), nil), http.StatusOK)
	ek, srk := testEK(t), testSRK(t)
	body := dpsapi.DeviceRegistration{RegistrationID: "tpm-1", TPM: &dpsapi.TPMAttestation{
		EndorsementKey: base64.StdEncoding.EncodeToString(ek),
		StorageRootKey: base64.StdEncoding.EncodeToString(srk),
	}}
	path := env.devicePath("tpm-1", "register")

	// No token, then a token signed with a key DPS never sent: each time a challenge.
	for _, auth := range []string{"", env.deviceToken("tpm-1", bytes.Repeat([]byte{1}, 32))} {
		r := env.device(http.MethodPut, path, body, auth, nil)
		var ch dpsapi.TPMChallenge
		if r.status != http.StatusUnauthorized || json.Unmarshal(r.body, &ch) != nil || ch.KeyName != "registration" || ch.Message == "" {
			t.Fatalf("challenge: %d %s", r.status, r.body)
		}
		blob, err := base64.StdEncoding.DecodeString(ch.AuthenticationKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dpsblob.Parse(blob); err != nil {
			t.Fatalf("challenge blob: %v", err)
		}
	}
	// The device's TPM recovers the key; the test reads it from the store instead.
	key, err := env.store.ChallengeKey(t.Context(), "tpm-1", ek)
	if err != nil || len(key) != 32 {
		t.Fatalf("challenge key: %x %v", key, err)
	}
	tok := env.deviceToken("tpm-1", key)
	op := operationStatus(t, env.device(http.MethodPut, path, body, tok, nil), http.StatusAccepted)
	// A retried PUT with the same token is accepted too.
	operationStatus(t, env.device(http.MethodPut, path, body, tok, nil), http.StatusAccepted)

	got := operationStatus(t, env.device(http.MethodGet, env.devicePath("tpm-1", "operations", op.OperationID), nil, tok, nil), http.StatusOK)
	rs := got.RegistrationState
	if got.Status != "assigned" || rs.AssignedHub != deviceapi.DefaultHubHostName || rs.DeviceID != "tpm-1" || rs.TPM == nil {
		t.Fatalf("assigned: %s", got.Status)
	}
	blob, _ := base64.StdEncoding.DecodeString(rs.TPM.AuthenticationKey)
	if _, err := dpsblob.Parse(blob); err != nil {
		t.Fatalf("hub key blob: %v", err)
	}
	hd, err := env.store.HubDevice(t.Context(), deviceapi.DefaultHubHostName, "tpm-1")
	if err != nil || hd.PrimaryKey.IsZero() || hd.PrimaryKey.Equal(sas.NewKey(key)) || hd.Attestation != dpsapi.AttestationTPM {
		t.Fatalf("hub device: %+v %v", hd, err)
	}

	// Another EK, or no enrollment: 401 without a challenge.
	other := tpmEnrollment(t, "tpm-2")
	other["attestation"].(map[string]any)["tpm"].(map[string]any)["endorsementKey"] = base64.StdEncoding.EncodeToString(ektest.New(t))
	env.enrollment(env.do(http.MethodPut, "/enrollments/tpm-2", other, nil), http.StatusOK)
	for _, id := range []string{"tpm-2", "tpm-3"} {
		b := body
		b.RegistrationID = id
		r := env.device(http.MethodPut, env.devicePath(id, "register"), b, "", nil)
		if r.status != http.StatusUnauthorized || r.errBody(t).ErrorCode != httpapi.CodeUnauthorized || bytes.Contains(r.body, []byte("authenticationKey")) {
			t.Fatalf("%s: %d %s", id, r.status, r.body)
		}
	}
}

// deviceCertificate issues a device certificate with common name cn from the emulator's CA.
func (e *testEnv) deviceCertificate(cn string) tls.Certificate {
	e.t.Helper()
	c, err := e.ca.DeviceCertificate(cn)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestDeviceRegisterX509(t *testing.T) {
	env := newTestEnv(t, nil)
	cert := env.deviceCertificate("x509-1")
	env.enrollment(env.do(http.MethodPut, "/enrollments/x509-1", map[string]any{
		"registrationId": "x509-1",
		"attestation":    map[string]any{"type": "x509", "x509": map[string]any{"clientCertificates": map[string]any{"primary": map[string]any{"certificate": tlsca.CertificatePEM(cert)}}}},
	}, nil), http.StatusOK)
	body := dpsapi.DeviceRegistration{RegistrationID: "x509-1"}
	path := env.devicePath("x509-1", "register")

	op := operationStatus(t, env.device(http.MethodPut, path, body, "", &cert), http.StatusAccepted)
	got := operationStatus(t, env.device(http.MethodGet, env.devicePath("x509-1", "operations", op.OperationID), nil, "", &cert), http.StatusOK)
	if got.Status != "assigned" {
		t.Fatalf("assigned: %+v", got)
	}
	hd, err := env.store.HubDevice(t.Context(), deviceapi.DefaultHubHostName, "x509-1")
	if err != nil || hd.PrimaryThumbprint != enrollcert.Thumbprint(cert.Leaf) {
		t.Fatalf("hub device: %+v %v", hd, err)
	}

	impostor := env.deviceCertificate("x509-1")
	wrongCN := env.deviceCertificate("x509-2")
	for name, c := range map[string]*tls.Certificate{"no certificate": nil, "another certificate": &impostor, "another common name": &wrongCN} {
		if r := env.device(http.MethodPut, path, body, "", c); r.status != http.StatusUnauthorized || r.errBody(t).ErrorCode != httpapi.CodeUnauthorized {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// Polls must come with the certificate that registered.
	if r := env.device(http.MethodGet, env.devicePath("x509-1", "operations", op.OperationID), nil, "", &impostor); r.status != http.StatusUnauthorized {
		t.Fatalf("poll with another certificate: %d", r.status)
	}
}

// What a registration needs between requests survives a restart: the TPM challenge key, the
// operation and the device's hub identity.
func TestDeviceRegistrationSurvivesRestart(t *testing.T) {
	env := newTestEnv(t, nil)
	env.enrollment(env.do(http.MethodPut, "/enrollments/tpm-r", tpmEnrollment(t, "tpm-r"), nil), http.StatusOK)
	ek := testEK(t)
	body := dpsapi.DeviceRegistration{RegistrationID: "tpm-r", TPM: &dpsapi.TPMAttestation{
		EndorsementKey: base64.StdEncoding.EncodeToString(ek),
		StorageRootKey: base64.StdEncoding.EncodeToString(testSRK(t)),
	}}
	path := env.devicePath("tpm-r", "register")
	if r := env.device(http.MethodPut, path, body, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	key, err := env.store.ChallengeKey(t.Context(), "tpm-r", ek)
	if err != nil {
		t.Fatal(err)
	}
	tok := env.deviceToken("tpm-r", key)

	env.restart()
	op := operationStatus(t, env.device(http.MethodPut, path, body, tok, nil), http.StatusAccepted)
	env.restart()
	if got := operationStatus(t, env.device(http.MethodGet, env.devicePath("tpm-r", "operations", op.OperationID), nil, tok, nil), http.StatusOK); got.Status != "assigned" {
		t.Fatalf("after restarts: %+v", got)
	}
	env.restart()
	if _, err := env.store.HubDevice(t.Context(), deviceapi.DefaultHubHostName, "tpm-r"); err != nil {
		t.Fatal(err)
	}
}

func TestDeviceOperationsPrunedAndDecidedOnce(t *testing.T) {
	env := newTestEnv(t, nil)
	key := env.symmetricEnrollment("many-1", nil)
	tok := env.deviceToken("many-1", key)
	var ids []string
	for range store.MaxOperationsPerDevice + 2 {
		op := operationStatus(t, env.device(http.MethodPut, env.devicePath("many-1", "register"), dpsapi.DeviceRegistration{RegistrationID: "many-1"}, tok, nil), http.StatusAccepted)
		ids = append(ids, op.OperationID)
	}
	for i, id := range ids {
		r := env.device(http.MethodGet, env.devicePath("many-1", "operations", id), nil, tok, nil)
		if kept := i >= len(ids)-store.MaxOperationsPerDevice; kept != (r.status == http.StatusOK) {
			t.Fatalf("operation %d of %d: %d", i+1, len(ids), r.status)
		}
	}

	// Concurrent polls of an operation that is due: one decision, seen by all.
	op := operationStatus(t, env.device(http.MethodPut, env.devicePath("many-1", "register"), dpsapi.DeviceRegistration{RegistrationID: "many-1"}, tok, nil), http.StatusAccepted)
	replies := make(chan response, 8)
	var wg sync.WaitGroup
	for range cap(replies) {
		wg.Go(func() {
			replies <- env.device(http.MethodGet, env.devicePath("many-1", "operations", op.OperationID), nil, tok, nil)
		})
	}
	wg.Wait()
	close(replies)
	etags := map[string]bool{}
	for r := range replies {
		etags[operationStatus(t, r, http.StatusOK).RegistrationState.ETag] = true
	}
	if len(etags) != 1 {
		t.Fatalf("decided more than once: %v", etags)
	}
}

// testChain makes a root, an intermediate and a leaf for cn valid from notBefore to notAfter,
// as a factory's CA would issue it, and returns the leaf's TLS certificate presenting leaf and
// intermediate.
func testChain(t *testing.T, cn string, notBefore, notAfter time.Time) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	mk := func(tmpl, parent *x509.Certificate, pub any, signer crypto.Signer) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c
	}
	key := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	rootKey, interKey, leafKey := key(), key(), key()
	now := time.Now()
	ca := func(name string, serial int64) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	root := ca("Test Root", 1)
	root = mk(root, root, rootKey.Public(), rootKey)
	inter := mk(ca("Test Issuing", 2), root, interKey.Public(), rootKey)
	leaf := mk(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, inter, leafKey.Public(), interKey)
	return tls.Certificate{Certificate: [][]byte{leaf.Raw, inter.Raw}, PrivateKey: leafKey, Leaf: leaf}, root
}

// What DPS checks of a device's X.509 certificate beyond its thumbprint: the presented chain
// links, the leaf is valid now, and its common name is a registration ID DPS takes.
func TestDeviceRegisterX509Checks(t *testing.T) {
	env := newTestEnv(t, nil)
	now := time.Now()
	enroll := func(c tls.Certificate, id string) {
		env.enrollment(env.do(http.MethodPut, "/enrollments/"+id, map[string]any{
			"registrationId": id,
			"attestation":    map[string]any{"type": "x509", "x509": map[string]any{"clientCertificates": map[string]any{"primary": map[string]any{"certificate": tlsca.CertificatePEM(c)}}}},
		}, nil), http.StatusOK)
	}
	register := func(id string, c *tls.Certificate) response {
		return env.device(http.MethodPut, env.devicePath(id, "register"), dpsapi.DeviceRegistration{RegistrationID: id}, "", c)
	}

	good, _ := testChain(t, "board-good", now.Add(-time.Hour), now.Add(time.Hour))
	enroll(good, "board-good")
	operationStatus(t, register("board-good", &good), http.StatusAccepted)

	expired, _ := testChain(t, "board-expired", now.Add(-2*time.Hour), now.Add(-time.Hour))
	early, _ := testChain(t, "board-early", now.Add(time.Hour), now.Add(2*time.Hour))
	broken, _ := testChain(t, "board-broken", now.Add(-time.Hour), now.Add(time.Hour))
	_, stranger := testChain(t, "x", now.Add(-time.Hour), now.Add(time.Hour))
	broken.Certificate[1] = stranger.Raw // an intermediate that did not sign the leaf
	for _, tc := range []struct {
		name string
		cert tls.Certificate
		say  string
	}{
		{"expired", expired, "expired on"},
		{"not yet valid", early, "not valid before"},
		{"a chain that does not link", broken, "does not link"},
	} {
		id := tc.cert.Leaf.Subject.CommonName
		enroll(tc.cert, id)
		r := register(id, &tc.cert)
		if r.status != http.StatusUnauthorized || r.errBody(t).ErrorCode != httpapi.CodeUnauthorized || !bytes.Contains(r.body, []byte(tc.say)) {
			t.Errorf("%s: %d %s; want 401 saying %q", tc.name, r.status, r.body, tc.say)
		}
	}

	// A GUID in upper case, as many tools print one, is no registration ID DPS takes.
	const upper = "5D6C1E7A-2B3C-4D5E-9F01-23456789ABCD"
	shouting, _ := testChain(t, upper, now.Add(-time.Hour), now.Add(time.Hour))
	if r := register(upper, &shouting); r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte("registration ID is invalid")) {
		t.Errorf("upper-case common name: %d %s; want 400 saying the registration ID is invalid", r.status, r.body)
	}
}

package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
)

func TestEnrollmentLifecycle(t *testing.T) {
	env := newTestEnv(t, nil)
	clock := newTestClock()
	env.useClock(clock)
	created := env.enrollment(env.do(http.MethodPut, "/enrollments/dev-1", tpmEnrollment(t, "dev-1"), nil), http.StatusOK)
	if created.ProvisioningStatus != "enabled" {
		t.Errorf("provisioningStatus %q, want the default enabled", created.ProvisioningStatus)
	}
	if created.ReprovisionPolicy == nil || !created.ReprovisionPolicy.UpdateHubAssignment || !created.ReprovisionPolicy.MigrateDeviceData {
		t.Errorf("reprovisionPolicy %+v, want both true by default", created.ReprovisionPolicy)
	}
	if created.ETag == "" || created.CreatedDateTimeUTC.IsZero() || !created.CreatedDateTimeUTC.Equal(created.LastUpdatedDateTimeUTC) {
		t.Fatalf("etag/timestamps wrong on create: %+v", created)
	}

	got := env.do(http.MethodGet, "/enrollments/dev-1", nil, nil)
	read := env.enrollment(got, http.StatusOK)
	if read.ETag != created.ETag || got.header.Get("ETag") != `"`+created.ETag+`"` {
		t.Fatalf("GET etag %q / header %q, want %q", read.ETag, got.header.Get("ETag"), created.ETag)
	}

	// PUT without If-Match on an existing enrollment updates it (create-or-update).
	body := tpmEnrollment(t, "dev-1")
	body["provisioningStatus"] = "disabled"
	clock.advance(time.Millisecond)
	upd := env.enrollment(env.do(http.MethodPut, "/enrollments/dev-1", body, nil), http.StatusOK)
	if upd.ETag == created.ETag || upd.ProvisioningStatus != "disabled" {
		t.Fatalf("update kept etag or status: %+v", upd)
	}
	if !upd.CreatedDateTimeUTC.Equal(created.CreatedDateTimeUTC) || upd.LastUpdatedDateTimeUTC.Equal(created.LastUpdatedDateTimeUTC) {
		t.Fatalf("timestamps after update: created %v→%v, updated %v→%v", created.CreatedDateTimeUTC, upd.CreatedDateTimeUTC, created.LastUpdatedDateTimeUTC, upd.LastUpdatedDateTimeUTC)
	}

	// A stale If-Match fails; the current one (bare as the Node client sends it, or quoted as the
	// C# client does) and "*" succeed, each changing the etag.
	r := env.do(http.MethodPut, "/enrollments/dev-1", body, map[string]string{"If-Match": created.ETag})
	if r.status != http.StatusPreconditionFailed || r.errBody(t).ErrorCode != httpapi.CodePreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", r.status, r.body)
	}
	cur := upd.ETag
	forms := map[string]func(string) string{
		"bare":   func(e string) string { return e },
		"quoted": func(e string) string { return `"` + e + `"` },
		"star":   func(string) string { return "*" },
	}
	for _, form := range []string{"bare", "quoted", "star"} {
		cond := forms[form](cur)
		next := env.enrollment(env.do(http.MethodPut, "/enrollments/dev-1", body, map[string]string{"If-Match": cond}), http.StatusOK)
		if next.ETag == cur {
			t.Fatalf("If-Match %s: etag did not change", form)
		}
		cur = next.ETag
	}
	// If-Match on an enrollment that does not exist never holds.
	r = env.do(http.MethodPut, "/enrollments/dev-2", tpmEnrollment(t, "dev-2"), map[string]string{"If-Match": "*"})
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("If-Match on a missing enrollment: %d %s", r.status, r.body)
	}

	r = env.do(http.MethodDelete, "/enrollments/dev-1", nil, map[string]string{"If-Match": created.ETag})
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("delete with stale If-Match: %d %s", r.status, r.body)
	}
	r = env.do(http.MethodDelete, "/enrollments/dev-1", nil, map[string]string{"If-Match": cur})
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		r = env.do(m, "/enrollments/dev-1", nil, nil)
		if r.status != http.StatusNotFound || r.errBody(t).ErrorCode != httpapi.CodeEnrollmentNotFound {
			t.Fatalf("%s after delete: %d %s", m, r.status, r.body)
		}
	}
}

func TestEnrollmentValidation(t *testing.T) {
	env := newTestEnv(t, nil)
	ek := testEK(t)
	withEK := func(b []byte) map[string]any {
		e := tpmEnrollment(t, "dev")
		e["attestation"].(map[string]any)["tpm"] = map[string]any{"endorsementKey": base64.StdEncoding.EncodeToString(b)}
		return e
	}
	with := func(k string, v any) map[string]any {
		e := tpmEnrollment(t, "dev")
		e[k] = v
		return e
	}
	signing := append([]byte(nil), ek...)
	signing[7] |= 0x04 // TPMA_OBJECT sign/encrypt: not an EK, which DPS cannot attest with
	cases := []struct {
		name string
		path string
		body any
		code int
	}{
		{"EK without its size prefix", "dev", withEK(ek[2:]), httpapi.CodeInvalidArgument},
		{"not a restricted decryption key", "dev", withEK(signing), httpapi.CodeInvalidArgument},
		{"truncated EK", "dev", withEK(ek[:100]), httpapi.CodeInvalidArgument},
		{"EK with trailing bytes", "dev", withEK(append(append([]byte{}, ek...), 0)), httpapi.CodeInvalidArgument},
		{"EK not base64", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "tpm", "tpm": map[string]any{"endorsementKey": "not base64!"}}}, httpapi.CodeInvalidArgument},
		{"TPM without EK", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "tpm"}}, httpapi.CodeInvalidArgument},
		{"no attestation", "dev", map[string]any{"registrationId": "dev"}, httpapi.CodeInvalidArgument},
		{"no attestation type", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{}}, httpapi.CodeInvalidArgument},
		{"attestation type none", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "none"}}, httpapi.CodeInvalidArgument},
		{"path and body differ", "other", tpmEnrollment(t, "dev"), httpapi.CodeInvalidArgument},
		{"upper-case registration ID", "Dev", tpmEnrollment(t, "Dev"), httpapi.CodeInvalidArgument},
		{"registration ID ending in a dash", "dev-", tpmEnrollment(t, "dev-"), httpapi.CodeInvalidArgument},
		{"registration ID too long", strings.Repeat("a", 129), tpmEnrollment(t, strings.Repeat("a", 129)), httpapi.CodeInvalidArgument},
		{"bad provisioning status", "dev", with("provisioningStatus", "paused"), httpapi.CodeInvalidArgument},
		{"bad allocation policy", "dev", with("allocationPolicy", "random"), httpapi.CodeInvalidArgument},
		{"bad device ID", "dev", with("deviceId", "has space"), httpapi.CodeInvalidArgument},
		{"initial twin not an object", "dev", with("initialTwin", []int{1}), httpapi.CodeInvalidArgument},
		{"short symmetric key", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "symmetricKey", "symmetricKey": map[string]any{"primaryKey": base64.StdEncoding.EncodeToString(make([]byte, 8))}}}, httpapi.CodeInvalidArgument},
		{"symmetric key not base64", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "symmetricKey", "symmetricKey": map[string]any{"primaryKey": "%%%"}}}, httpapi.CodeInvalidArgument},
		{"x509 garbage certificate", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "x509", "x509": map[string]any{"clientCertificates": map[string]any{"primary": map[string]any{"certificate": "bm90IGEgY2VydA=="}}}}}, httpapi.CodeInvalidArgument},
		{"x509 without certificates", "dev", map[string]any{"registrationId": "dev", "attestation": map[string]any{"type": "x509", "x509": map[string]any{}}}, httpapi.CodeInvalidArgument},
		{"not JSON", "dev", "{", httpapi.CodeMalformedBody},
		{"wrong field type", "dev", `{"registrationId":"dev","attestation":{"type":7}}`, httpapi.CodeMalformedBody},
		{"empty body", "dev", " ", httpapi.CodeMalformedBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(http.MethodPut, "/enrollments/"+c.path, c.body, nil)
			if r.status != c.code/1000 || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want code %d: %s", r.status, c.code, r.body)
			}
		})
	}
	if r := env.do(http.MethodGet, "/enrollments/dev", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("a rejected enrollment was stored: %d", r.status)
	}
}

func TestSymmetricKeysGenerated(t *testing.T) {
	env := newTestEnv(t, nil)
	body := map[string]any{"registrationId": "sym-1", "attestation": map[string]any{"type": "symmetricKey"}}
	e := env.enrollment(env.do(http.MethodPut, "/enrollments/sym-1", body, nil), http.StatusOK)
	sk := e.Attestation.SymmetricKey
	if sk == nil || sk.PrimaryKey == "" || sk.SecondaryKey == "" || sk.PrimaryKey == sk.SecondaryKey {
		t.Fatalf("keys not generated: %+v", sk)
	}
	for _, k := range []string{sk.PrimaryKey, sk.SecondaryKey} {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(raw) != 64 {
			t.Fatalf("generated key %q: %d bytes, %v", k, len(raw), err)
		}
	}
	// A caller's own key is kept as sent.
	own := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	body["attestation"] = map[string]any{"type": "symmetricKey", "symmetricKey": map[string]any{"primaryKey": own, "secondaryKey": own}}
	e = env.enrollment(env.do(http.MethodPut, "/enrollments/sym-1", body, nil), http.StatusOK)
	if e.Attestation.SymmetricKey.PrimaryKey != own {
		t.Fatalf("caller's key replaced: %+v", e.Attestation.SymmetricKey)
	}
	r := env.do(http.MethodPost, "/enrollments/sym-1/attestationmechanism", nil, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), own) {
		t.Fatalf("attestationmechanism: %d %s", r.status, r.body)
	}
}

func TestX509Enrollment(t *testing.T) {
	env := newTestEnv(t, nil)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0xbeef), Subject: pkix.Name{CommonName: "x509-dev"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	for name, cert := range map[string]string{"PEM": pemText, "base64 DER": base64.StdEncoding.EncodeToString(der)} {
		t.Run(name, func(t *testing.T) {
			body := map[string]any{"registrationId": "x509-dev", "attestation": map[string]any{"type": "x509", "x509": map[string]any{"clientCertificates": map[string]any{"primary": map[string]any{"certificate": cert}}}}}
			e := env.enrollment(env.do(http.MethodPut, "/enrollments/x509-dev", body, nil), http.StatusOK)
			p := e.Attestation.X509.ClientCertificates.Primary
			if p.Certificate != "" || p.Info == nil || p.Info.SubjectName != "CN=x509-dev" || p.Info.SerialNumber != "BEEF" || len(p.Info.SHA256Thumbprint) != 64 {
				t.Fatalf("primary %+v info %+v", p, p.Info)
			}
			// Sending back what GET returned (info, no certificate) keeps the stored certificate.
			e.ETag = ""
			back := env.enrollment(env.do(http.MethodPut, "/enrollments/x509-dev", e, nil), http.StatusOK)
			if back.Attestation.X509.ClientCertificates.Primary.Info.SHA256Thumbprint != p.Info.SHA256Thumbprint {
				t.Fatal("certificate lost on read-modify-write")
			}
			stored, err := env.store.GetEnrollment(t.Context(), "x509-dev")
			if err != nil || stored.Attestation.X509.ClientCertificates.Primary.Certificate == "" {
				t.Fatalf("stored certificate lost: %v", err)
			}
		})
	}
}

package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// symmetricGroup is a minimal symmetric-key enrollment group body (keys left to the service).
func symmetricGroup(id string) map[string]any {
	return map[string]any{"enrollmentGroupId": id, "attestation": map[string]any{"type": "symmetricKey"}}
}

// group decodes a reply as an enrollment group, failing unless the status is want.
func (e *testEnv) group(r response, want int) dpsapi.EnrollmentGroup {
	e.t.Helper()
	if r.status != want {
		e.t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	var g dpsapi.EnrollmentGroup
	if err := json.Unmarshal(r.body, &g); err != nil {
		e.t.Fatalf("decode %s: %v", r.body, err)
	}
	return g
}

func TestGroupLifecycle(t *testing.T) {
	env := newTestEnv(t, nil)
	clock := newTestClock()
	env.useClock(clock)
	created := env.group(env.do(http.MethodPut, "/enrollmentGroups/line-1", symmetricGroup("line-1"), nil), http.StatusOK)
	sk := created.Attestation.SymmetricKey
	for _, k := range []string{sk.PrimaryKey, sk.SecondaryKey} {
		if raw, err := base64.StdEncoding.DecodeString(k); err != nil || len(raw) != maxSymmetricKeyBytes {
			t.Fatalf("generated key %q: %d bytes, %v", k, len(raw), err)
		}
	}
	if sk.PrimaryKey == sk.SecondaryKey {
		t.Fatal("primary and secondary keys are the same")
	}
	if created.ProvisioningStatus != dpsapi.StatusEnabled || created.Capabilities == nil ||
		created.ReprovisionPolicy == nil || !created.ReprovisionPolicy.UpdateHubAssignment || !created.ReprovisionPolicy.MigrateDeviceData {
		t.Errorf("defaults not filled: %+v", created)
	}
	if created.ETag == "" || created.CreatedDateTimeUTC.IsZero() || !created.CreatedDateTimeUTC.Equal(created.LastUpdatedDateTimeUTC) {
		t.Fatalf("etag/timestamps wrong on create: %+v", created)
	}

	got := env.do(http.MethodGet, "/enrollmentGroups/line-1", nil, nil)
	read := env.group(got, http.StatusOK)
	if read.ETag != created.ETag || got.header.Get("ETag") != `"`+created.ETag+`"` || read.Attestation.SymmetricKey.PrimaryKey != sk.PrimaryKey {
		t.Fatalf("GET: %+v, ETag header %q; want %+v", read, got.header.Get("ETag"), created)
	}
	r := env.do(http.MethodPost, "/enrollmentGroups/line-1/attestationmechanism", nil, nil)
	var mech dpsapi.Attestation
	if r.status != http.StatusOK || json.Unmarshal(r.body, &mech) != nil || mech.SymmetricKey == nil || mech.SymmetricKey.SecondaryKey != sk.SecondaryKey {
		t.Fatalf("attestation mechanism: %d %s", r.status, r.body)
	}

	// An update keeps the keys it is sent and the creation time, and changes the ETag.
	body := map[string]any{
		"enrollmentGroupId":  "line-1",
		"attestation":        map[string]any{"type": "symmetricKey", "symmetricKey": map[string]any{"primaryKey": sk.PrimaryKey, "secondaryKey": sk.SecondaryKey}},
		"provisioningStatus": "disabled",
		"iotHubHostName":     "hub-2.localhost",
		"initialTwin":        map[string]any{"tags": map[string]any{"line": 1}},
		"capabilities":       map[string]any{"iotEdge": true},
	}
	clock.advance(time.Millisecond)
	upd := env.group(env.do(http.MethodPut, "/enrollmentGroups/line-1", body, nil), http.StatusOK)
	if upd.ETag == created.ETag || upd.ProvisioningStatus != dpsapi.StatusDisabled || upd.IoTHubHostName != "hub-2.localhost" ||
		!upd.Capabilities.IoTEdge || upd.Attestation.SymmetricKey.PrimaryKey != sk.PrimaryKey || string(upd.InitialTwin.Tags) != `{"line":1}` {
		t.Fatalf("update: %+v", upd)
	}
	if !upd.CreatedDateTimeUTC.Equal(created.CreatedDateTimeUTC) || !upd.LastUpdatedDateTimeUTC.After(created.LastUpdatedDateTimeUTC) {
		t.Fatalf("timestamps after update: created %v→%v, updated %v→%v", created.CreatedDateTimeUTC, upd.CreatedDateTimeUTC, created.LastUpdatedDateTimeUTC, upd.LastUpdatedDateTimeUTC)
	}

	// If-Match: a stale ETag fails; the current one, bare or quoted, and "*" hold.
	r = env.do(http.MethodPut, "/enrollmentGroups/line-1", body, map[string]string{"If-Match": created.ETag})
	if r.status != http.StatusPreconditionFailed || r.errBody(t).ErrorCode != httpapi.CodePreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", r.status, r.body)
	}
	cur := upd.ETag
	for _, cond := range []func(string) string{
		func(e string) string { return e },
		func(e string) string { return `"` + e + `"` },
		func(string) string { return "*" },
	} {
		next := env.group(env.do(http.MethodPut, "/enrollmentGroups/line-1", body, map[string]string{"If-Match": cond(cur)}), http.StatusOK)
		if next.ETag == cur {
			t.Fatalf("If-Match %q: etag did not change", cond(cur))
		}
		cur = next.ETag
	}
	r = env.do(http.MethodPut, "/enrollmentGroups/line-2", symmetricGroup("line-2"), map[string]string{"If-Match": "*"})
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("If-Match on a missing group: %d %s", r.status, r.body)
	}

	r = env.do(http.MethodDelete, "/enrollmentGroups/line-1", nil, map[string]string{"If-Match": created.ETag})
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("delete with a stale If-Match: %d %s", r.status, r.body)
	}
	r = env.do(http.MethodDelete, "/enrollmentGroups/line-1", nil, map[string]string{"If-Match": cur})
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		r = env.do(m, "/enrollmentGroups/line-1", nil, nil)
		if r.status != http.StatusNotFound || r.errBody(t).ErrorCode != httpapi.CodeEnrollmentGroupNotFound {
			t.Fatalf("%s after delete: %d %s", m, r.status, r.body)
		}
	}
	// Groups and individual enrollments are separate: the ID of a deleted group is no enrollment.
	r = env.do(http.MethodGet, "/enrollments/line-1", nil, nil)
	if r.status != http.StatusNotFound || r.errBody(t).ErrorCode != httpapi.CodeEnrollmentNotFound {
		t.Fatalf("group ID read as an enrollment: %d %s", r.status, r.body)
	}
}

func TestGroupX509SigningCertificate(t *testing.T) {
	env := newTestEnv(t, nil)
	body := map[string]any{
		"enrollmentGroupId": "signed",
		"attestation": map[string]any{"type": "x509", "x509": map[string]any{
			"signingCertificates": map[string]any{"primary": map[string]any{"certificate": string(env.ca.PEM)}},
		}},
	}
	created := env.group(env.do(http.MethodPut, "/enrollmentGroups/signed", body, nil), http.StatusOK)
	p := created.Attestation.X509.SigningCertificates.Primary
	if p.Certificate != "" || p.Info == nil || p.Info.SHA256Thumbprint != enrollcert.Thumbprint(env.ca.Cert) || p.Info.SubjectName == "" {
		t.Fatalf("signing certificate as shown: %+v", p)
	}
	// Sent back as read (info only), the certificate is kept: devices are still checked against it.
	resend := map[string]any{"enrollmentGroupId": "signed", "attestation": created.Attestation, "provisioningStatus": "disabled"}
	env.group(env.do(http.MethodPut, "/enrollmentGroups/signed", resend, map[string]string{"If-Match": created.ETag}), http.StatusOK)
	stored, err := env.store.GetEnrollmentGroup(t.Context(), "signed")
	if err != nil || stored.Attestation.X509.SigningCertificates.Primary.Certificate != string(env.ca.PEM) {
		t.Fatalf("stored group lost its certificate: %+v %v", stored, err)
	}
}

func TestGroupBadInput(t *testing.T) {
	env := newTestEnv(t, nil)
	ek := base64.StdEncoding.EncodeToString(testEK(t))
	cert := string(env.ca.PEM)
	with := func(id string, fields map[string]any) map[string]any {
		b := symmetricGroup(id)
		for k, v := range fields {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name string
		path string
		body any
		code int
	}{
		{"TPM attestation", "g", with("g", map[string]any{"attestation": map[string]any{"type": "tpm", "tpm": map[string]any{"endorsementKey": ek}}}), httpapi.CodeInvalidArgument},
		{"no attestation", "g", map[string]any{"enrollmentGroupId": "g"}, httpapi.CodeInvalidArgument},
		{"attestation type none", "g", with("g", map[string]any{"attestation": map[string]any{"type": "none"}}), httpapi.CodeInvalidArgument},
		{"x509 client certificates", "g", with("g", map[string]any{"attestation": map[string]any{"type": "x509", "x509": map[string]any{
			"clientCertificates": map[string]any{"primary": map[string]any{"certificate": cert}}}}}), httpapi.CodeInvalidArgument},
		{"x509 without certificates", "g", with("g", map[string]any{"attestation": map[string]any{"type": "x509", "x509": map[string]any{}}}), httpapi.CodeInvalidArgument},
		{"x509 signing certificate not a certificate", "g", with("g", map[string]any{"attestation": map[string]any{"type": "x509", "x509": map[string]any{
			"signingCertificates": map[string]any{"primary": map[string]any{"certificate": "bm90IGEgY2VydA=="}}}}}), httpapi.CodeInvalidArgument},
		{"short symmetric key", "g", with("g", map[string]any{"attestation": map[string]any{"type": "symmetricKey", "symmetricKey": map[string]any{"primaryKey": "c2hvcnQ="}}}), httpapi.CodeInvalidArgument},
		{"upper-case ID", "Line-1", symmetricGroup("Line-1"), httpapi.CodeInvalidArgument},
		{"ID too long", strings.Repeat("g", 129), symmetricGroup(strings.Repeat("g", 129)), httpapi.CodeInvalidArgument},
		{"ID differs from the path's", "g", symmetricGroup("h"), httpapi.CodeInvalidArgument},
		{"provisioning status", "g", with("g", map[string]any{"provisioningStatus": "paused"}), httpapi.CodeInvalidArgument},
		{"allocation policy", "g", with("g", map[string]any{"allocationPolicy": "roundRobin"}), httpapi.CodeInvalidArgument},
		{"initial twin tags not an object", "g", with("g", map[string]any{"initialTwin": map[string]any{"tags": []int{1}}}), httpapi.CodeInvalidArgument},
		{"initial twin not an object", "g", with("g", map[string]any{"initialTwin": "twin"}), httpapi.CodeInvalidArgument},
		{"not JSON", "g", "{", httpapi.CodeMalformedBody},
		{"wrong type", "g", with("g", map[string]any{"iotHubs": "hub"}), httpapi.CodeMalformedBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(http.MethodPut, "/enrollmentGroups/"+c.path, c.body, nil)
			if r.status != http.StatusBadRequest || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want 400 with code %d: %s", r.status, c.code, r.body)
			}
			if _, err := env.store.GetEnrollmentGroup(t.Context(), c.path); err == nil {
				t.Fatal("a refused group was stored")
			}
		})
	}
	// The body's ID may be left out: the path names the group.
	g := env.group(env.do(http.MethodPut, "/enrollmentGroups/from-path", map[string]any{"attestation": map[string]any{"type": "symmetricKey"}}, nil), http.StatusOK)
	if g.EnrollmentGroupID != "from-path" {
		t.Fatalf("group ID %q", g.EnrollmentGroupID)
	}
}

func TestGroupAuth(t *testing.T) {
	env := newTestEnv(t, nil)
	env.group(env.do(http.MethodPut, "/enrollmentGroups/g", symmetricGroup("g"), nil), http.StatusOK)
	wrongKey := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	for name, token := range map[string]string{
		"no token":      "",
		"wrong key":     makeSAS(testHost, env.id.PolicyName, wrongKey, time.Now().Add(time.Hour)),
		"wrong policy":  makeSAS(testHost, "registryRead", env.id.PolicyKey, time.Now().Add(time.Hour)),
		"expired token": makeSAS(testHost, env.id.PolicyName, env.id.PolicyKey, time.Now().Add(-time.Minute)),
	} {
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/enrollmentGroups/g", nil},
			{http.MethodPut, "/enrollmentGroups/g", symmetricGroup("g")},
			{http.MethodDelete, "/enrollmentGroups/g", nil},
			{http.MethodPost, "/enrollmentGroups/query", map[string]string{"query": "*"}},
			{http.MethodPost, "/enrollmentGroups/g/attestationmechanism", nil},
		} {
			t.Run(name+" "+req.method+" "+req.path, func(t *testing.T) {
				r := env.do(req.method, req.path, req.body, map[string]string{"Authorization": token})
				if r.status != http.StatusUnauthorized || r.errBody(t).ErrorCode != httpapi.CodeUnauthorized {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
			})
		}
	}
	if _, err := env.store.GetEnrollmentGroup(t.Context(), "g"); err != nil {
		t.Fatalf("the group did not survive unauthorized requests: %v", err)
	}
}

func TestGroupQueryPaging(t *testing.T) {
	env := newTestEnv(t, nil)
	const n = 23
	for i := range n {
		id := fmt.Sprintf("grp-%02d", i)
		env.group(env.do(http.MethodPut, "/enrollmentGroups/"+id, symmetricGroup(id), nil), http.StatusOK)
	}
	// An individual enrollment is not a group, and a group is not an individual enrollment.
	env.enrollment(env.do(http.MethodPut, "/enrollments/dev-1", tpmEnrollment(t, "dev-1"), nil), http.StatusOK)

	pages := queryPages[dpsapi.EnrollmentGroup](env, "/enrollmentGroups/query", "EnrollmentGroup", 10)
	var all []string
	for _, page := range pages {
		for _, g := range page {
			if g.ETag == "" || g.Attestation == nil || g.Attestation.SymmetricKey == nil {
				t.Fatalf("query item incomplete: %+v", g)
			}
			all = append(all, g.EnrollmentGroupID)
		}
	}
	if len(pages) != 3 || len(all) != n || all[0] != "grp-00" || all[n-1] != "grp-22" {
		t.Fatalf("%d pages, items %v", len(pages), all)
	}

	r := env.do(http.MethodPost, "/enrollmentGroups/query", map[string]string{"query": "SELECT * FROM enrollmentGroups"}, nil)
	var page []dpsapi.EnrollmentGroup
	if err := json.Unmarshal(r.body, &page); err != nil || len(page) != n || r.header.Get("x-ms-continuation") != "" {
		t.Fatalf("unpaged query: %d items, continuation %q, %v", len(page), r.header.Get("x-ms-continuation"), err)
	}
	r = env.do(http.MethodPost, "/enrollments/query", map[string]string{"query": "*"}, nil)
	var enrollments []dpsapi.IndividualEnrollment
	if err := json.Unmarshal(r.body, &enrollments); err != nil || len(enrollments) != 1 {
		t.Fatalf("enrollment query sees groups: %s", r.body)
	}

	for name, c := range map[string]struct {
		body    any
		headers map[string]string
		code    int
	}{
		"another query":    {map[string]string{"query": "SELECT * FROM enrollmentGroups WHERE enrollmentGroupId = 'x'"}, nil, httpapi.CodeInvalidArgument},
		"empty query":      {map[string]string{"query": ""}, nil, httpapi.CodeInvalidArgument},
		"bad page size":    {map[string]string{"query": "*"}, map[string]string{"x-ms-max-item-count": "0"}, httpapi.CodeInvalidArgument},
		"foreign token":    {map[string]string{"query": "*"}, map[string]string{"x-ms-continuation": "!!"}, httpapi.CodeInvalidArgument},
		"not a query body": {"[]", nil, httpapi.CodeMalformedBody},
	} {
		t.Run(name, func(t *testing.T) {
			r := env.do(http.MethodPost, "/enrollmentGroups/query", c.body, c.headers)
			if r.status != http.StatusBadRequest || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want 400 with code %d: %s", r.status, c.code, r.body)
			}
		})
	}
}

func TestGroupSurvivesRestart(t *testing.T) {
	env := newTestEnv(t, nil)
	before := env.group(env.do(http.MethodPut, "/enrollmentGroups/kept", symmetricGroup("kept"), nil), http.StatusOK)
	env.group(env.do(http.MethodPut, "/enrollmentGroups/gone", symmetricGroup("gone"), nil), http.StatusOK)
	if r := env.do(http.MethodDelete, "/enrollmentGroups/gone", nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	env.restart()
	after := env.group(env.do(http.MethodGet, "/enrollmentGroups/kept", nil, nil), http.StatusOK)
	if after.ETag != before.ETag || !after.CreatedDateTimeUTC.Equal(before.CreatedDateTimeUTC) ||
		after.Attestation.SymmetricKey.PrimaryKey != before.Attestation.SymmetricKey.PrimaryKey {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
	if r := env.do(http.MethodGet, "/enrollmentGroups/gone", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("deleted group after restart: %d %s", r.status, r.body)
	}
	// The ETag from before the restart still guards an update.
	env.group(env.do(http.MethodPut, "/enrollmentGroups/kept", symmetricGroup("kept"), map[string]string{"If-Match": before.ETag}), http.StatusOK)
}

package emulator

import (
	"encoding/base64"
	"net/http"
	"slices"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/sas"
)

// groupKey creates the symmetric-key group id and returns its primary key.
func (e *testEnv) groupKey(id string) sas.Key {
	e.t.Helper()
	g := e.group(e.do(http.MethodPut, "/enrollmentGroups/"+id, symmetricGroup(id), nil), http.StatusOK)
	k, err := sas.ParseKey(g.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

// registerInGroup registers id with its key derived from groupKey and returns the decision.
func (e *testEnv) registerInGroup(id string, groupKey sas.Key) dpsapi.RegistrationOperationStatus {
	e.t.Helper()
	key, err := base64.StdEncoding.DecodeString(groupKey.DeriveDeviceKey(id).Base64())
	if err != nil {
		e.t.Fatal(err)
	}
	return e.registerSymmetric(id, key)
}

// groupRegistrations lists the registration IDs the group's registration state query returns, a
// page of pageSize at a time.
func (e *testEnv) groupRegistrations(group string, pageSize int) []string {
	e.t.Helper()
	var ids []string
	for _, page := range queryPages[dpsapi.DeviceRegistrationState](e, "/registrations/"+group+"/query", "DeviceRegistration", pageSize) {
		for _, st := range page {
			if st.Status == "" || st.ETag == "" {
				e.t.Fatalf("registration state incomplete: %+v", st)
			}
			ids = append(ids, st.RegistrationID)
		}
	}
	return ids
}

func TestGroupRegistrationQuery(t *testing.T) {
	env := newTestEnv(t, nil)
	lineA, lineB := env.groupKey("line-a"), env.groupKey("line-b")
	for _, id := range []string{"a-1", "a-2", "a-3", "a-4", "a-5"} {
		if op := env.registerInGroup(id, lineA); op.Status != dpsapi.RegistrationAssigned {
			t.Fatalf("%s: %+v", id, op)
		}
	}
	env.registerInGroup("b-1", lineB)
	env.registerSymmetric("own-1", env.symmetricEnrollment("own-1", nil))

	if got, want := env.groupRegistrations("line-a", 2), []string{"a-1", "a-2", "a-3", "a-4", "a-5"}; !slices.Equal(got, want) {
		t.Fatalf("line-a: %v, want %v", got, want)
	}
	if got := env.groupRegistrations("line-b", 10); !slices.Equal(got, []string{"b-1"}) {
		t.Fatalf("line-b: %v", got)
	}

	// A deleted registration state is not listed; a device that registers through its own
	// enrollment leaves the group's list.
	if r := env.do(http.MethodDelete, "/registrations/a-2", nil, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete state: %d %s", r.status, r.body)
	}
	env.registerSymmetric("a-3", env.symmetricEnrollment("a-3", nil))
	env.restart()
	if got, want := env.groupRegistrations("line-a", 2), []string{"a-1", "a-4", "a-5"}; !slices.Equal(got, want) {
		t.Fatalf("line-a after changes and a restart: %v, want %v", got, want)
	}

	// Without a body, as the REST specification sends it, and with the SDKs' query specifications.
	for name, body := range map[string]any{"no body": nil, "star": map[string]string{"query": "*"}, "SQL": map[string]string{"query": "SELECT * FROM enrollments"}} {
		if r := env.do(http.MethodPost, "/registrations/line-b/query", body, nil); r.status != http.StatusOK || r.header.Get("x-ms-item-type") != "DeviceRegistration" {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	for name, c := range map[string]struct {
		path   string
		body   any
		status int
		code   int
	}{
		"unknown group":       {"/registrations/line-z/query", nil, http.StatusNotFound, httpapi.CodeEnrollmentGroupNotFound},
		"filtered query":      {"/registrations/line-a/query", map[string]string{"query": "SELECT * FROM c WHERE status = 'failed'"}, http.StatusBadRequest, httpapi.CodeInvalidArgument},
		"not a query":         {"/registrations/line-a/query", "[1]", http.StatusBadRequest, httpapi.CodeMalformedBody},
		"GET of a query path": {"/registrations/line-a/query?x=1", nil, http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			method := http.MethodPost
			if c.status == http.StatusMethodNotAllowed {
				method = http.MethodGet
			}
			r := env.do(method, c.path, c.body, nil)
			if r.status != c.status || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want %d with code %d: %s", r.status, c.status, c.code, r.body)
			}
		})
	}
}

func TestGroupDoesNotAdmitTPMDevices(t *testing.T) {
	env := newTestEnv(t, nil)
	env.groupKey("line-t")
	ek := base64.StdEncoding.EncodeToString(testEK(t))
	body := dpsapi.DeviceRegistration{RegistrationID: "tpm-dev", TPM: &dpsapi.TPMAttestation{EndorsementKey: ek, StorageRootKey: ek}}
	r := env.device(http.MethodPut, env.devicePath("tpm-dev", "register"), body, "", nil)
	if r.status != http.StatusUnauthorized || r.errBody(t).ErrorCode != httpapi.CodeUnauthorized {
		t.Fatalf("TPM device without an individual enrollment: %d %s", r.status, r.body)
	}
}

package emulator

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

func TestRegistrationStates(t *testing.T) {
	env := newTestEnv(t, nil)
	r := env.do(http.MethodGet, "/registrations/reg-1", nil, nil)
	if r.status != http.StatusNotFound || r.errBody(t).ErrorCode != httpapi.CodeRegistrationNotFound {
		t.Fatalf("missing state: %d %s", r.status, r.body)
	}
	env.enrollment(env.do(http.MethodPut, "/enrollments/reg-1", tpmEnrollment(t, "reg-1"), nil), http.StatusOK)
	st, err := env.store.PutRegistrationState(t.Context(), dpsapi.DeviceRegistrationState{
		RegistrationID: "reg-1", AssignedHub: "hub.localhost", DeviceID: "reg-1", Status: "assigned", Substatus: "initialAssignment",
	})
	if err != nil {
		t.Fatal(err)
	}
	r = env.do(http.MethodGet, "/registrations/reg-1", nil, nil)
	var got dpsapi.DeviceRegistrationState
	if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil || got.ETag != st.ETag || got.Status != "assigned" || got.CreatedDateTimeUTC.IsZero() {
		t.Fatalf("GET state: %d %s", r.status, r.body)
	}
	e := env.enrollment(env.do(http.MethodGet, "/enrollments/reg-1", nil, nil), http.StatusOK)
	if e.RegistrationState == nil || e.RegistrationState.AssignedHub != "hub.localhost" {
		t.Fatalf("enrollment lacks its registration state: %s", r.body)
	}
	r = env.do(http.MethodDelete, "/registrations/reg-1", nil, map[string]string{"If-Match": "stale"})
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d %s", r.status, r.body)
	}
	if r = env.do(http.MethodDelete, "/registrations/reg-1", nil, map[string]string{"If-Match": st.ETag}); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r = env.do(http.MethodDelete, "/registrations/reg-1", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}
	// The enrollment outlives its registration state.
	if e = env.enrollment(env.do(http.MethodGet, "/enrollments/reg-1", nil, nil), http.StatusOK); e.RegistrationState != nil {
		t.Fatal("registration state still attached")
	}
	// Deleting an enrollment takes its registration state with it.
	if _, err := env.store.PutRegistrationState(t.Context(), dpsapi.DeviceRegistrationState{RegistrationID: "reg-1", Status: "assigned"}); err != nil {
		t.Fatal(err)
	}
	env.do(http.MethodDelete, "/enrollments/reg-1", nil, nil)
	if r = env.do(http.MethodGet, "/registrations/reg-1", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("state outlived its enrollment: %d", r.status)
	}
}

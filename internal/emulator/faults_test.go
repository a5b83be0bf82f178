package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

func TestFaultThrottleEveryN(t *testing.T) {
	env := newTestEnv(t, nil)
	if err := env.faults.Set(FaultConfig{ThrottleEvery: 3, RetryAfter: Duration(2500 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for range 6 {
		r := env.do(http.MethodGet, "/enrollments/x", nil, nil)
		statuses = append(statuses, r.status)
		if r.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") != "3" || r.errBody(t).ErrorCode != httpapi.CodeThrottled {
				t.Fatalf("429 without Retry-After 3 or code: %v %s", r.header, r.body)
			}
		}
	}
	want := []int{404, 404, 429, 404, 404, 429}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
}

func TestFaultTimedAndProbabilistic(t *testing.T) {
	env := newTestEnv(t, nil)
	if err := env.faults.Set(FaultConfig{UnavailableFor: Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r := env.do(http.MethodGet, "/enrollments/x", nil, nil)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" || r.errBody(t).ErrorCode != httpapi.CodeUnavailable {
		t.Fatalf("unavailableFor: %d %v %s", r.status, r.header, r.body)
	}
	if err := env.faults.Set(FaultConfig{ThrottleProbability: 1}); err != nil {
		t.Fatal(err)
	}
	if r = env.do(http.MethodGet, "/enrollments/x", nil, nil); r.status != http.StatusTooManyRequests {
		t.Fatalf("probability 1: %d", r.status)
	}
	if err := env.faults.Set(FaultConfig{ThrottleFor: Duration(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if r = env.do(http.MethodGet, "/enrollments/x", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("throttleFor did not end: %d", r.status)
	}
	// Faults come before authentication: a throttled service throttles everyone.
	if err := env.faults.Set(FaultConfig{UnavailableEvery: 1}); err != nil {
		t.Fatal(err)
	}
	if r = env.do(http.MethodGet, "/enrollments/x", nil, map[string]string{"Authorization": ""}); r.status != http.StatusServiceUnavailable {
		t.Fatalf("unauthenticated request during outage: %d", r.status)
	}
}

func TestFaultLatency(t *testing.T) {
	env := newTestEnv(t, nil)
	env.do(http.MethodGet, "/enrollments/warm", nil, nil) // connection set up outside the timing
	if err := env.faults.Set(FaultConfig{Latency: Duration(150 * time.Millisecond), LatencyJitter: Duration(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := env.do(http.MethodGet, "/enrollments/x", nil, nil)
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second || r.status != http.StatusNotFound {
		t.Fatalf("latency %v, status %d", d, r.status)
	}
}

func TestFaultConfigValidation(t *testing.T) {
	for _, c := range []FaultConfig{
		{ThrottleEvery: -1}, {ThrottleProbability: 1.5}, {UnavailableProbability: -0.1}, {Latency: Duration(-time.Second)},
	} {
		if _, err := NewFaults(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"1.5s"`), &d); err != nil || time.Duration(d) != 1500*time.Millisecond {
		t.Fatalf("duration text: %v %v", d, err)
	}
	if err := json.Unmarshal([]byte(`2`), &d); err != nil || time.Duration(d) != 2*time.Second {
		t.Fatalf("duration seconds: %v %v", d, err)
	}
}

func TestAdminEndpoint(t *testing.T) {
	faults, _ := NewFaults(FaultConfig{})
	h := AdminHandler(AdminOptions{Faults: faults, Token: "s3cret"})
	call := func(method, remote, auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/admin/faults", bytes.NewBufferString(body))
		req.RemoteAddr = remote
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	cases := []struct {
		name, method, remote, auth, body string
		want                             int
	}{
		{"non-loopback peer with the token", http.MethodGet, "192.0.2.7:5555", "Bearer s3cret", "", http.StatusForbidden},
		{"non-loopback IPv6 peer", http.MethodPut, "[2001:db8::1]:5555", "Bearer s3cret", `{"throttleEvery":2}`, http.StatusForbidden},
		{"loopback without token", http.MethodGet, "127.0.0.1:5555", "", "", http.StatusUnauthorized},
		{"loopback with wrong token", http.MethodGet, "127.0.0.1:5555", "Bearer nope", "", http.StatusUnauthorized},
		{"loopback with token in wrong scheme", http.MethodGet, "[::1]:5555", "Basic s3cret", "", http.StatusUnauthorized},
		{"unknown field", http.MethodPut, "127.0.0.1:5555", "Bearer s3cret", `{"throttle":2}`, http.StatusBadRequest},
		{"invalid value", http.MethodPut, "127.0.0.1:5555", "Bearer s3cret", `{"throttleProbability":2}`, http.StatusBadRequest},
		{"wrong method", http.MethodPost, "127.0.0.1:5555", "Bearer s3cret", `{}`, http.StatusMethodNotAllowed},
		{"set", http.MethodPut, "[::1]:5555", "Bearer s3cret", `{"throttleEvery":2,"retryAfter":"3s","latency":"10ms"}`, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := call(c.method, c.remote, c.auth, c.body)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
		})
	}
	if got := faults.Status().Config; got.ThrottleEvery != 2 || time.Duration(got.RetryAfter) != 3*time.Second || time.Duration(got.Latency) != 10*time.Millisecond {
		t.Fatalf("config not applied: %+v", got)
	}
	w := call(http.MethodGet, "127.0.0.1:1", "Bearer s3cret", "")
	var st FaultStatus
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Config.ThrottleEvery != 2 {
		t.Fatalf("GET status: %s %v", w.Body, err)
	}
	if w = call(http.MethodDelete, "127.0.0.1:1", "Bearer s3cret", ""); w.Code != http.StatusOK || faults.Status().Config != (FaultConfig{}) {
		t.Fatalf("DELETE did not clear: %d %+v", w.Code, faults.Status())
	}
}

func TestAdminSeedsRegistrationStates(t *testing.T) {
	env := newTestEnv(t, nil)
	h := AdminHandler(AdminOptions{Faults: env.faults, Store: env.store, Token: "t"})
	req := httptest.NewRequest(http.MethodPut, "/admin/registrations/seeded", bytes.NewBufferString(`{"status":"assigned","assignedHub":"hub.localhost","deviceId":"seeded"}`))
	req.RemoteAddr = "127.0.0.1:9"
	req.Header.Set("Authorization", "Bearer t")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("seed: %d %s", w.Code, w.Body)
	}
	r := env.do(http.MethodGet, "/registrations/seeded", nil, nil)
	var st dpsapi.DeviceRegistrationState
	if r.status != http.StatusOK || json.Unmarshal(r.body, &st) != nil || st.AssignedHub != "hub.localhost" || st.RegistrationID != "seeded" {
		t.Fatalf("seeded state: %d %s", r.status, r.body)
	}
}

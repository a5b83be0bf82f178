package emulatortest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// PutEnrollmentGroup creates or updates g through the emulator's service API (PUT
// /enrollmentGroups/{id}), as an operator would, and returns the group as the service stored it,
// generated keys included. pkg/dps has no enrollment group client, so this speaks HTTPS itself.
func (e *Emulator) PutEnrollmentGroup(t testing.TB, g *dpsapi.EnrollmentGroup) *dpsapi.EnrollmentGroup {
	t.Helper()
	body, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var out dpsapi.EnrollmentGroup
	if err := json.Unmarshal(e.serviceCall(t, http.MethodPut, g.EnrollmentGroupID, body, http.StatusOK), &out); err != nil {
		t.Fatalf("enrollment group %s: %v", g.EnrollmentGroupID, err)
	}
	return &out
}

// DeleteEnrollmentGroup deletes the enrollment group id through the service API.
func (e *Emulator) DeleteEnrollmentGroup(t testing.TB, id string) {
	t.Helper()
	e.serviceCall(t, http.MethodDelete, id, nil, http.StatusNoContent)
}

// serviceCall sends one request about the enrollment group id to the service API, signed with the
// connection string, and returns the reply's body, failing the test unless the status is want.
func (e *Emulator) serviceCall(t testing.TB, method, id string, body []byte, want int) []byte {
	t.Helper()
	u := "https://" + e.Endpoint + "/enrollmentGroups/" + url.PathEscape(id) + "?api-version=" + dpsapi.ServiceAPIVersion
	req, err := http.NewRequestWithContext(t.Context(), method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.ConnectionString.Token(t.Context(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.RootCAs}}, Timeout: 30 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s enrollment group %s: %v", method, id, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != want {
		t.Fatalf("%s enrollment group %s: %d %s %v", method, id, res.StatusCode, data, err)
	}
	return data
}

package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/portal/web"
	"github.com/oobtpm/oob/pkg/dps"
)

type lifecycleJSON struct {
	State      string            `json:"state"`
	Registered bool              `json:"registered"`
	Hub        string            `json:"hub"`
	Metadata   map[string]string `json:"metadata"`
	Enrollment *struct {
		ProvisioningStatus string `json:"provisioningStatus"`
		IoTHubHostName     string `json:"iotHubHostName"`
	} `json:"enrollment"`
}

// TestEditDeactivateReactivateThroughTheAPI: a board activated through the API has its
// metadata and hub replaced (a field of no form refused), is deactivated and re-activated
// without a code, each under If-Match (a stale ETag is 409, nothing written); once registered
// its metadata edit is 409 registered; a viewer token may do none of it. Every answer is
// checked against the OpenAPI document.
func TestEditDeactivateReactivateThroughTheAPI(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, func(c *web.Config) { c.Registrations = c.DPS.(*dps.Client) })
		erp, _ := p.token("acme", "erp", records.RoleActivator)
		bi, _ := p.token("acme", "bi", records.RoleViewer)
		b := portaltest.ShipBoard(t, s, p.emu, "acme")
		portaltest.AllowHubs(t, s, "acme", "hub-1.azure-devices.net", "hub-2.azure-devices.net")
		path := "/api/v1/boards/" + b.GUID
		if r := p.call(nil, http.MethodPost, path+"/deactivation", erp, nil, nil); r.status != http.StatusConflict || r.code() != "wrong_state" {
			t.Errorf("deactivating a shipped board: %d %s", r.status, r.body)
		}
		if r := p.call(nil, http.MethodPost, path+"/activation", erp, activation(b.Code, "hub-1.azure-devices.net", "Hall 3", "CH-1"), nil); r.status != 200 {
			t.Fatalf("activation: %d %s", r.status, r.body)
		}
		etag := p.call(nil, http.MethodGet, path, erp, nil, nil).header.Get("ETag")

		edit := map[string]any{"hub": "hub-2.azure-devices.net", "metadata": map[string]string{"location": "Hall 4", "chassisNumber": "CH-2", "colour": "red"}}
		if r := p.call(nil, http.MethodPut, path+"/metadata", erp, edit, map[string]string{"If-Match": etag}); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "metadata.colour") {
			t.Errorf("an edit with a field of no form: %d %s", r.status, r.body)
		}
		delete(edit["metadata"].(map[string]string), "colour")
		if r := p.call(nil, http.MethodPut, path+"/metadata", erp, `{"code":"K7QX2M4P-9TRW3HZD","hub":"hub-2.azure-devices.net","metadata":{}}`, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "code") {
			t.Errorf("an edit with a code member: %d %s", r.status, r.body)
		}
		if r := p.call(nil, http.MethodPut, path+"/metadata", bi, edit, nil); r.status != http.StatusForbidden {
			t.Errorf("a viewer's edit: %d", r.status)
		}
		r := p.call(nil, http.MethodPut, path+"/metadata", erp, edit, map[string]string{"If-Match": etag})
		var got lifecycleJSON
		r.json(t, &got)
		if r.status != 200 || got.Hub != "hub-2.azure-devices.net" || got.Metadata["location"] != "Hall 4" || got.Enrollment.IoTHubHostName != "hub-2.azure-devices.net" || got.State != "activated" {
			t.Fatalf("edit: %d %s", r.status, r.body)
		}
		e, _ := p.dps.GetEnrollment(t.Context(), b.GUID)
		var desired map[string]string
		_ = json.Unmarshal(e.InitialTwin.Properties.Desired, &desired)
		if desired["location"] != "Hall 4" || `"`+e.ETag+`"` != r.header.Get("ETag") {
			t.Errorf("enrollment after the edit: %v", desired)
		}

		// The ETag from before the edit is stale now.
		if r := p.call(nil, http.MethodPost, path+"/deactivation", erp, nil, map[string]string{"If-Match": etag}); r.status != http.StatusConflict || r.code() != "changed" {
			t.Errorf("a stale deactivation: %d %s", r.status, r.body)
		}
		if r := p.call(nil, http.MethodPost, path+"/deactivation", bi, nil, nil); r.status != http.StatusForbidden {
			t.Errorf("a viewer's deactivation: %d", r.status)
		}
		r = p.call(nil, http.MethodPost, path+"/deactivation", erp, nil, map[string]string{"If-Match": r.header.Get("ETag")})
		r.json(t, &got)
		if r.status != 200 || got.State != "deactivated" || got.Enrollment.ProvisioningStatus != "disabled" {
			t.Fatalf("deactivation: %d %s", r.status, r.body)
		}
		var list struct {
			Boards []lifecycleJSON `json:"boards"`
		}
		p.call(nil, http.MethodGet, "/api/v1/boards?state=deactivated", erp, nil, nil).json(t, &list)
		if len(list.Boards) != 1 || list.Boards[0].State != "deactivated" {
			t.Errorf("state=deactivated: %+v", list.Boards)
		}
		p.call(nil, http.MethodGet, "/api/v1/boards?state=activated", erp, nil, nil).json(t, &list)
		if len(list.Boards) != 0 {
			t.Errorf("a deactivated board listed as activated: %+v", list.Boards)
		}
		if r := p.call(nil, http.MethodPut, path+"/metadata", erp, edit, nil); r.status != http.StatusConflict || r.code() != "wrong_state" {
			t.Errorf("editing a deactivated board: %d %s", r.status, r.body)
		}

		// The factory withdrew the hub: no re-activation into it.
		if err := s.RemoveCustomerHub(t.Context(), "acme", "hub-2.azure-devices.net", "factory"); err != nil {
			t.Fatal(err)
		}
		if r := p.call(nil, http.MethodPost, path+"/reactivation", erp, nil, nil); r.status != http.StatusConflict || r.code() != "hub_not_allowed" || !strings.Contains(string(r.body), "hub-2.azure-devices.net") {
			t.Errorf("re-activating into a hub withdrawn: %d %s", r.status, r.body)
		}
		portaltest.AllowHubs(t, s, "acme", "hub-2.azure-devices.net")
		r = p.call(nil, http.MethodPost, path+"/reactivation", erp, nil, map[string]string{"If-Match": r.header.Get("ETag")})
		r.json(t, &got)
		if r.status != 200 || got.State != "activated" || got.Enrollment.ProvisioningStatus != "enabled" || got.Enrollment.IoTHubHostName != "hub-2.azure-devices.net" {
			t.Fatalf("re-activation: %d %s", r.status, r.body)
		}
		if r := p.call(nil, http.MethodPost, path+"/reactivation", erp, nil, nil); r.status != http.StatusConflict || r.code() != "wrong_state" {
			t.Errorf("re-activating an active board: %d %s", r.status, r.body)
		}

		// Registered: the initial twin no longer reaches the device.
		portaltest.Register(t, p.emu, b)
		if r := p.call(nil, http.MethodPut, path+"/metadata", erp, edit, nil); r.status != http.StatusConflict || r.code() != "registered" {
			t.Errorf("an edit after the first boot: %d %s", r.status, r.body)
		}
		p.call(nil, http.MethodGet, path, erp, nil, nil).json(t, &got)
		if !got.Registered {
			t.Errorf("the board is not shown registered: %+v", got)
		}
		trail, _ := s.Audit(t.Context(), b.GUID)
		n := 0
		for _, l := range trail {
			if l.Action == "metadata-edited" || l.Action == "deactivated" || l.Action == "reactivated" {
				n++
				if !strings.HasPrefix(l.Actor, "api token ") || l.Address != "127.0.0.1" {
					t.Errorf("audit line: %+v", l)
				}
			}
		}
		if n != 3 {
			t.Errorf("%d changes audited, want 3", n)
		}
	})
}

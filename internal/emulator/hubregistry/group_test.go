package hubregistry_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

// A device that DPS assigned through a symmetric-key enrollment group connects to its hub with
// its own key, derived from the group's, and finds the group's initial twin there; the group key
// itself opens nothing.
func TestHubAdmitsGroupDevice(t *testing.T) {
	e, hubAddr := startWithHub(t)
	g := e.PutEnrollmentGroup(t, &dpsapi.EnrollmentGroup{
		EnrollmentGroupID: "kiosks",
		Attestation:       &dpsapi.Attestation{Type: dpsapi.AttestationSymmetricKey},
		InitialTwin:       &dpsapi.InitialTwin{Properties: &dpsapi.InitialTwinProperties{Desired: json.RawMessage(`{"mode":"kiosk"}`)}},
	})
	groupKey, err := sas.ParseKey(g.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	key := groupKey.DeriveDeviceKey("kiosk-7")
	res, err := provision.Register(t.Context(), provision.Config{
		IDScope: e.IDScope, Endpoint: e.Endpoint, RootCAs: e.RootCAs, RegistrationID: "kiosk-7", SymmetricKey: &key,
	})
	if err != nil || !res.Assigned() {
		t.Fatalf("register: %v %+v", err, res)
	}
	cfg := hubclient.Config{HubHost: res.AssignedHub, DeviceID: res.DeviceID, Address: hubAddr, RootCAs: e.RootCAs, Key: groupKey}
	if conn, err := hubclient.Connect(t.Context(), cfg); !errors.Is(err, hubclient.ErrNotAuthorized) {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("the group key opened the device's hub connection: %v", err)
	}
	cfg.Key = key
	if d := desired(t, cfg); d["mode"] != "kiosk" {
		t.Fatalf("the device's desired properties %v, want the group's initial twin", d)
	}
}

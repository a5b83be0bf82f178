package hubregistry_test

import (
	"encoding/json"
	"testing"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

// A device DPS assigned finds in its hub the twin its enrollment set: the desired properties of
// the enrollment's initial twin, as IoT Hub seeds it from DPS.
func TestHubTwinSeededFromEnrollment(t *testing.T) {
	e, hubAddr := startWithHub(t)
	svc := e.Client(t, dps.Options{})
	en, err := svc.CreateOrUpdateEnrollment(t.Context(), &dpsapi.IndividualEnrollment{
		RegistrationID: "twin-dev",
		Attestation:    &dpsapi.Attestation{Type: dpsapi.AttestationSymmetricKey},
		InitialTwin: &dpsapi.InitialTwin{
			Tags:       json.RawMessage(`{"site":"lyon"}`),
			Properties: &dpsapi.InitialTwinProperties{Desired: json.RawMessage(`{"interval":30,"mode":"kiosk"}`)},
		},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := sas.ParseKey(en.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := provision.Register(t.Context(), provision.Config{
		IDScope: e.IDScope, Endpoint: e.Endpoint, RootCAs: e.RootCAs, RegistrationID: "twin-dev", SymmetricKey: &key,
	})
	if err != nil || !res.Assigned() {
		t.Fatalf("register: %v %+v", err, res)
	}
	d := desired(t, hubclient.Config{HubHost: res.AssignedHub, DeviceID: res.DeviceID, Address: hubAddr, RootCAs: e.RootCAs, Key: key})
	if d["interval"] != 30.0 || d["mode"] != "kiosk" {
		t.Fatalf("the device's desired properties %v, want the enrollment's initial twin", d)
	}
}

package emulatortest

import (
	"net"
	"testing"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

// AssignedDevice is a device the emulator's DPS assigned to a hub, and the key it signs with.
type AssignedDevice struct {
	RegistrationID, HubHost, DeviceID string
	Key                               sas.Key
}

// StartWithHubs runs an emulator that decides registrations at once, with the hub's MQTT
// endpoint and the hubs' service API each on a free loopback port, until the test ends.
func StartWithHubs(t testing.TB) *Emulator {
	t.Helper()
	var ls [2]net.Listener
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
	}
	return StartWith(t, t.TempDir(), Options{HubListener: ls[0], HubServiceListener: ls[1], AssignDelay: 1})
}

// HubConnectionString is the service connection string of the emulated hub hubHost (the data
// directory's one hub policy). The hubs' service API must be on.
func (e *Emulator) HubConnectionString(t testing.TB, hubHost string) sas.ConnectionString {
	t.Helper()
	cs, err := sas.ParseHubConnectionString(e.st.HubConnectionString(hubHost))
	if err != nil {
		t.Fatalf("hub connection string (is the hubs' service API on?): %v", err)
	}
	return cs
}

// RegisterSymmetricKey enrolls registrationID with generated symmetric keys, assigned to hub,
// and registers it through the device API as a device would.
func (e *Emulator) RegisterSymmetricKey(t testing.TB, registrationID, hub string) AssignedDevice {
	t.Helper()
	svc := e.Client(t, dps.Options{})
	en, err := svc.CreateOrUpdateEnrollment(t.Context(), &dpsapi.IndividualEnrollment{
		RegistrationID: registrationID, IoTHubHostName: hub,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationSymmetricKey},
	}, "")
	if err != nil {
		t.Fatalf("enroll %s: %v", registrationID, err)
	}
	key, err := sas.ParseKey(en.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := provision.Register(t.Context(), provision.Config{
		IDScope: e.IDScope, Endpoint: e.Endpoint, RootCAs: e.RootCAs, RegistrationID: registrationID, SymmetricKey: &key,
	})
	if err != nil {
		t.Fatalf("register %s: %v", registrationID, err)
	}
	if !res.Assigned() {
		t.Fatalf("register %s: %+v", registrationID, res)
	}
	return AssignedDevice{RegistrationID: registrationID, HubHost: res.AssignedHub, DeviceID: res.DeviceID, Key: key}
}

// ConnectHub opens d's MQTT connection to the emulated hub; it is closed when the test ends,
// if the test has not closed it.
func (e *Emulator) ConnectHub(t testing.TB, d AssignedDevice) *hubclient.Conn {
	t.Helper()
	c, err := hubclient.Connect(t.Context(), hubclient.Config{
		HubHost: d.HubHost, DeviceID: d.DeviceID, Address: e.HubAddr, RootCAs: e.RootCAs, Key: d.Key,
	})
	if err != nil {
		t.Fatalf("connect %s to %s: %v", d.DeviceID, d.HubHost, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

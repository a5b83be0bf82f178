package onboard_test

// Onboarding against the DPS emulator and its hub (internal/emulatortest, in process) over TLS with
// the emulator's own CA.

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/onboard"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

const hubHost = "hub-1.localhost"

// start runs an emulator that decides registrations at once and serves its hub, enrolls id with a
// symmetric key when enroll is set, and returns the device's configuration.
func start(t *testing.T, id string, enroll bool) (*emulatortest.Emulator, onboard.Config) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{HubListener: ln, AssignDelay: 1})
	cfg := onboard.Config{
		Provision:  provision.Config{IDScope: emu.IDScope, Endpoint: emu.Endpoint, RootCAs: emu.RootCAs, RegistrationID: id},
		HubAddress: ln.Addr().String(),
	}
	if !enroll {
		k, err := sas.ParseKey("a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleQ==")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Provision.SymmetricKey = &k
		return emu, cfg
	}
	svc := emu.Client(t, dps.Options{})
	got, err := svc.CreateOrUpdateEnrollment(t.Context(), &dpsapi.IndividualEnrollment{
		RegistrationID: id, DeviceID: id + "-device", IoTHubHostName: hubHost,
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationSymmetricKey},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := sas.ParseKey(got.Attestation.SymmetricKey.PrimaryKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Provision.SymmetricKey = &key
	return emu, cfg
}

func TestRegisterConnectsAndReports(t *testing.T) {
	emu, cfg := start(t, "dev-1", true)
	var assigned *provision.Result
	cfg.Assigned = func(res *provision.Result) error {
		if emu.Hub.Connected(hubHost, "dev-1-device") {
			t.Error("the hub was dialled before the assignment was handed over")
		}
		assigned = res
		return nil
	}
	res, err := onboard.Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Assigned() || res.AssignedHub != hubHost || res.DeviceID != "dev-1-device" || assigned != res {
		t.Fatalf("result %+v, handed over %+v", res, assigned)
	}
	twin, ok := emu.Hub.Twin(hubHost, "dev-1-device")
	if !ok {
		t.Fatal("the device never connected to its hub")
	}
	p, _ := twin.Reported["provisioning"].(map[string]any)
	if p["status"] != hubclient.ProvisioningStatus || p["registrationId"] != "dev-1" {
		t.Fatalf("reported provisioning: %v", twin.Reported)
	}
}

func TestRegisterStopsWhenTheAssignmentCannotBeSaved(t *testing.T) {
	emu, cfg := start(t, "dev-2", true)
	saveErr := errors.New("disk full")
	cfg.Assigned = func(*provision.Result) error { return saveErr }
	res, err := onboard.Register(t.Context(), cfg)
	if !errors.Is(err, saveErr) || res == nil || !res.Assigned() {
		t.Fatalf("res %+v, err %v; want the assignment and the save's error", res, err)
	}
	if _, ok := emu.Hub.Twin(hubHost, "dev-2-device"); ok {
		t.Fatal("the device connected to its hub although its assignment was not saved")
	}
}

func TestRegisterNotEnrolled(t *testing.T) {
	_, cfg := start(t, "dev-3", false)
	res, err := onboard.Register(t.Context(), cfg)
	if res != nil || !errors.Is(err, provision.ErrNotEnrolled) {
		t.Fatalf("res %+v, err %v; want no answer and ErrNotEnrolled", res, err)
	}
}

func TestConnectRefused(t *testing.T) {
	_, cfg := start(t, "dev-4", true)
	res, err := onboard.Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := sas.ParseKey("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Provision.SymmetricKey = &wrong
	err = onboard.Connect(t.Context(), cfg, onboard.Assignment{RegistrationID: "dev-4", Hub: res.AssignedHub, DeviceID: res.DeviceID})
	var he *onboard.HubError
	if !errors.As(err, &he) || he.Connected || !errors.Is(err, hubclient.ErrNotAuthorized) {
		t.Fatalf("err %v; want a *HubError before connecting, with ErrNotAuthorized", err)
	}
	want := "DPS assigned dev-4 to " + hubHost + ", but connecting to the hub failed: "
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("message %q, want it to start %q", err, want)
	}
}

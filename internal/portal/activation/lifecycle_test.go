package activation

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/provision"
)

func twin(t *testing.T, e *dpsapi.IndividualEnrollment) (tags, desired map[string]any) {
	t.Helper()
	if err := json.Unmarshal(e.InitialTwin.Tags, &tags); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.InitialTwin.Properties.Desired, &desired); err != nil {
		t.Fatal(err)
	}
	return tags, desired
}

// TestEditDeactivateReactivate takes a board through its life in DPS (the emulator over TLS):
// activated, its metadata edited before the first boot (an optional field emptied leaves the
// twin), deactivated (the board's registration is refused), re-activated (it registers, with
// the edited twin's hub), deactivated again once registered (its next registration refused);
// each write under If-Match, a stale ETag refused with nothing written.
func TestEditDeactivateReactivate(t *testing.T) {
	emu := emulatortest.Start(t)
	s := portaltest.SQLite(t)
	b := portaltest.ShipBoard(t, s, emu, "acme")
	c := emu.Client(t, dps.Options{})
	ctx := context.Background()
	schema, err := ParseSchema([]byte(`{"fields":[{"name":"location","label":"Location","type":"text","required":true,"maxLength":100},
{"name":"note","label":"Note","type":"text","maxLength":100}]}`))
	if err != nil {
		t.Fatal(err)
	}
	hubs := []string{"hub-1.azure-devices.net", "hub-2.azure-devices.net"}
	req := func(etag, hub string, values map[string]string) Request {
		r := Request{GUID: b.GUID, Hub: hub, ETag: etag, Customer: "acme", Values: values, Schema: schema, AllowedHubs: hubs}
		r.Normalize()
		if fe := r.Validate(); fe != nil {
			t.Fatalf("valid request refused: %v", fe)
		}
		return r
	}
	first, err := Activate(ctx, c, req("", hubs[0], map[string]string{"location": "Hall 3", "note": "spare"}))
	if err != nil {
		t.Fatal(err)
	}

	edited, err := Edit(ctx, c, req(first.ETag, hubs[1], map[string]string{"location": "Hall 4"}), map[string]string{"location": "Hall 3", "note": "spare"})
	if err != nil {
		t.Fatal(err)
	}
	tags, desired := twin(t, edited)
	if edited.IoTHubHostName != hubs[1] || len(edited.IoTHubs) != 1 || tags["location"] != "Hall 4" || desired["location"] != "Hall 4" || tags["factory"] != "f1" || tags["customer"] != "acme" {
		t.Errorf("after the edit: hub %s tags %v desired %v", edited.IoTHubHostName, tags, desired)
	}
	if _, ok := tags["note"]; ok {
		t.Errorf("the emptied note is still a tag: %v", tags)
	}
	if _, ok := desired["note"]; ok {
		t.Errorf("the emptied note is still desired: %v", desired)
	}
	if _, err := Edit(ctx, c, req(first.ETag, hubs[0], map[string]string{"location": "Stale"}), nil); !errors.Is(err, ErrChanged) {
		t.Errorf("an edit from a page shown before the last edit: %v", err)
	}
	if _, err := Deactivate(ctx, c, b.GUID, first.ETag); !errors.Is(err, ErrChanged) {
		t.Errorf("a deactivation from a stale page: %v", err)
	}
	if now, _ := c.GetEnrollment(ctx, b.GUID); now.ETag != edited.ETag || now.ProvisioningStatus != dpsapi.StatusEnabled {
		t.Fatal("a stale change was written")
	}

	off, err := Deactivate(ctx, c, b.GUID, edited.ETag)
	if err != nil {
		t.Fatal(err)
	}
	tags, _ = twin(t, off)
	if off.ProvisioningStatus != dpsapi.StatusDisabled || off.IoTHubHostName != hubs[1] || tags["location"] != "Hall 4" {
		t.Errorf("deactivated: %s hub %s tags %v", off.ProvisioningStatus, off.IoTHubHostName, tags)
	}
	// DPS's answer to the board's registration: disabled, no hub.
	refused := func() {
		t.Helper()
		res, err := provision.Register(ctx, provision.Config{IDScope: emu.IDScope, Endpoint: emu.Endpoint, RootCAs: emu.RootCAs, Certificate: b.Cert})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != dpsapi.RegistrationDisabled || res.AssignedHub != "" {
			t.Errorf("a deactivated board's registration: %s, hub %q", res.Status, res.AssignedHub)
		}
	}
	refused()

	on, err := Reactivate(ctx, c, req(off.ETag, hubs[1], map[string]string{"location": "Hall 4"}))
	if err != nil {
		t.Fatal(err)
	}
	if on.ProvisioningStatus != dpsapi.StatusEnabled || on.IoTHubHostName != hubs[1] {
		t.Errorf("re-activated: %s hub %s", on.ProvisioningStatus, on.IoTHubHostName)
	}
	if hub := portaltest.Register(t, emu, b); hub != hubs[1] {
		t.Errorf("registered to %s, want %s", hub, hubs[1])
	}

	// Registered, then deactivated: DPS refuses the next registration.
	if _, err := Deactivate(ctx, c, b.GUID, ""); err != nil {
		t.Fatal(err)
	}
	refused()
	if _, err := Deactivate(ctx, c, "ffffffff-3f4d-4e5f-8a9b-000000000000", ""); !errors.Is(err, ErrNoEnrollment) {
		t.Errorf("no enrollment: %v", err)
	}
}

package activation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

func TestActivateEnablesWithTwinAndHub(t *testing.T) {
	emu := emulatortest.Start(t)
	s := portaltest.SQLite(t)
	b := portaltest.ShipBoard(t, s, emu, "acme")
	c := emu.Client(t, dps.Options{})
	ctx := context.Background()

	r := Request{GUID: b.GUID, Hub: " Hub-1.Azure-Devices.net ", Customer: "acme", AllowedHubs: []string{"hub-1.azure-devices.net"},
		Values: map[string]string{"location": " Hall 3, Lyon", "chassisNumber": "CH-0042 "}}
	r.Normalize()
	if fe := r.Validate(); fe != nil {
		t.Fatalf("valid request refused: %v", fe)
	}
	got, err := Activate(ctx, c, r)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.GetEnrollment(ctx, b.GUID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.ProvisioningStatus != "enabled" || stored.IoTHubHostName != "hub-1.azure-devices.net" || stored.ETag != got.ETag {
		t.Errorf("stored enrollment: status %q hub %q", stored.ProvisioningStatus, stored.IoTHubHostName)
	}
	var tags, desired map[string]any
	_ = json.Unmarshal(stored.InitialTwin.Tags, &tags)
	_ = json.Unmarshal(stored.InitialTwin.Properties.Desired, &desired)
	if tags["factory"] != "f1" || tags["location"] != "Hall 3, Lyon" || tags["chassisNumber"] != "CH-0042" || tags["customer"] != "acme" {
		t.Errorf("tags: %v", tags)
	}
	if desired["location"] != "Hall 3, Lyon" || desired["chassisNumber"] != "CH-0042" {
		t.Errorf("desired: %v", desired)
	}

	// A form shown before that change carries the old ETag: refused, not overwritten.
	old := r
	old.ETag = `"stale"`
	old.Values = map[string]string{"location": "elsewhere", "chassisNumber": "CH-0042"}
	if _, err := Activate(ctx, c, old); !errors.Is(err, ErrChanged) {
		t.Errorf("stale form: %v", err)
	}
	if again, _ := c.GetEnrollment(ctx, b.GUID); again.ETag != stored.ETag {
		t.Error("a stale activation wrote to the enrollment")
	}
	if _, err := Activate(ctx, c, Request{GUID: "ffffffff-3f4d-4e5f-8a9b-000000000000", Hub: "h.example"}); !errors.Is(err, ErrNoEnrollment) {
		t.Errorf("no enrollment: %v", err)
	}
}

// racer changes the enrollment between the activation's read and its write, as another
// operator would.
type racer struct {
	Enrollments
	other Enrollments
}

func (r racer) GetEnrollment(ctx context.Context, id string) (*dpsapi.IndividualEnrollment, error) {
	e, err := r.Enrollments.GetEnrollment(ctx, id)
	if err != nil {
		return nil, err
	}
	theirs := *e
	theirs.DeviceID = "renamed-by-someone-else"
	if _, err := r.other.CreateOrUpdateEnrollment(ctx, &theirs, e.ETag); err != nil {
		return nil, err
	}
	return e, nil
}

func TestChangeBetweenReadAndWriteIsNotOverwritten(t *testing.T) {
	emu := emulatortest.Start(t)
	s := portaltest.SQLite(t)
	b := portaltest.ShipBoard(t, s, emu, "acme")
	c := emu.Client(t, dps.Options{})
	r := Request{GUID: b.GUID, Hub: "hub.example.net", Values: map[string]string{"location": "x", "chassisNumber": "1"}}
	if _, err := Activate(context.Background(), racer{c, c}, r); !errors.Is(err, ErrChanged) {
		t.Fatalf("activation over a concurrent change: %v", err)
	}
	e, _ := c.GetEnrollment(context.Background(), b.GUID)
	if e.DeviceID != "renamed-by-someone-else" || e.ProvisioningStatus != "disabled" {
		t.Errorf("the other change was overwritten: device %q status %q", e.DeviceID, e.ProvisioningStatus)
	}
}

func TestValidate(t *testing.T) {
	ok := map[string]string{"location": "a", "chassisNumber": "1"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		m[k] = v
		return m
	}
	allowed := []string{"h.example", "other.example"}
	for _, tc := range []struct {
		name  string
		r     Request
		field string
	}{
		{"no location", Request{Hub: "h.example", AllowedHubs: allowed, Values: with("location", "")}, "location"},
		{"control character", Request{Hub: "h.example", AllowedHubs: allowed, Values: with("location", "a\nb")}, "location"},
		{"chassis symbols", Request{Hub: "h.example", AllowedHubs: allowed, Values: with("chassisNumber", "<x>")}, "chassisNumber"},
		{"chassis too long", Request{Hub: "h.example", AllowedHubs: allowed, Values: with("chassisNumber", strings.Repeat("1", 65))}, "chassisNumber"},
		{"a value for no field", Request{Hub: "h.example", AllowedHubs: allowed, Values: with("colour", "red")}, "colour"},
		{"hub not allowed", Request{Hub: "evil.example", AllowedHubs: allowed, Values: ok}, FieldHub},
		{"no hub chosen", Request{AllowedHubs: allowed, Values: ok}, FieldHub},
		{"no hub allowed", Request{Hub: "h.example", Values: ok}, FieldHub},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := tc.r.Validate()
			if fe[tc.field] == "" || len(fe) != 1 {
				t.Errorf("errors %v, want one for %s", fe, tc.field)
			}
		})
	}
	if fe := (&Request{Hub: "other.example", AllowedHubs: allowed, Values: ok}).Validate(); fe != nil {
		t.Errorf("a valid request: %v", fe)
	}
	if fe := (&Request{Hub: "h.example", Values: ok}).Validate(); !strings.Contains(fe[FieldHub], "oob-factory customer hub add") {
		t.Errorf("no hub allowed: %q", fe[FieldHub])
	}
}

func TestCheckHostName(t *testing.T) {
	for _, h := range []string{"localhost", "https://h.example", "-h.example", "h..example", "H.example", ""} {
		if CheckHostName(h) == nil {
			t.Errorf("%q accepted as a host name", h)
		}
	}
	if err := CheckHostName("hub-1.azure-devices.net"); err != nil {
		t.Error(err)
	}
}

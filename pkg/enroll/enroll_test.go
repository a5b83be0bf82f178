package enroll_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
)

// newIdentity returns the identity of a fresh standard-template EK, registration ID derived.
func newIdentity(t testing.TB) identity.Verified {
	t.Helper()
	return ektest.Verify(t, ektest.Identity(t, ""))
}

// withRegistrationID returns the identity of a fresh standard-template EK under an OEM's
// registration ID.
func withRegistrationID(t testing.TB, regID string) identity.Verified {
	t.Helper()
	return ektest.Verify(t, identity.Identity{RegistrationID: regID, EndorsementKey: ektest.New(t)})
}

func TestEnrollCreatesThenChangesNothing(t *testing.T) {
	emu := emulatortest.Start(t)
	c := emu.Client(t, dps.Options{})
	ctx := context.Background()
	id := newIdentity(t)
	s := enroll.Settings{DeviceID: "line-4-unit-17", Disabled: true, Edge: true, IoTHub: "factory.azure-devices.net",
		Tags: map[string]string{"line": "4"}}

	first, err := enroll.Enroll(ctx, c, id, s, enroll.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Outcome != enroll.Created {
		t.Fatalf("first enrollment: outcome %q, want created", first.Outcome)
	}
	e := first.Enrollment
	if e.RegistrationID != id.RegistrationID() || e.DeviceID != "line-4-unit-17" || e.ETag == "" {
		t.Errorf("stored enrollment: id %q device %q etag %q", e.RegistrationID, e.DeviceID, e.ETag)
	}
	if e.ProvisioningStatus != dpsapi.StatusDisabled || e.Capabilities == nil || !e.Capabilities.IoTEdge {
		t.Errorf("stored enrollment: status %q capabilities %+v, want disabled Edge", e.ProvisioningStatus, e.Capabilities)
	}
	if got := e.Attestation.TPM.EndorsementKey; got != base64.StdEncoding.EncodeToString(id.EndorsementKey()) {
		t.Errorf("stored EK differs from the device's")
	}
	if len(e.IoTHubs) != 1 || e.IoTHubs[0] != "factory.azure-devices.net" || e.AllocationPolicy != dpsapi.AllocationStatic {
		t.Errorf("hub: policy %q hubs %v", e.AllocationPolicy, e.IoTHubs)
	}
	var tags map[string]string
	if err := json.Unmarshal(e.InitialTwin.Tags, &tags); err != nil || tags["line"] != "4" {
		t.Errorf("initial twin tags %s (%v), want line=4", e.InitialTwin.Tags, err)
	}

	// The same device scanned again, even with other settings, changes nothing.
	again, err := enroll.Enroll(ctx, c, id, enroll.Settings{DeviceID: "other"}, enroll.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Outcome != enroll.AlreadyEnrolled {
		t.Fatalf("second enrollment: outcome %q, want already-enrolled", again.Outcome)
	}
	if again.Enrollment.ETag != e.ETag || again.Enrollment.DeviceID != "line-4-unit-17" {
		t.Errorf("second enrollment changed the stored one: etag %q→%q device %q", e.ETag, again.Enrollment.ETag, again.Enrollment.DeviceID)
	}
}

func TestEnrollRefusesAnotherKeyUnlessReplacing(t *testing.T) {
	emu := emulatortest.Start(t)
	c := emu.Client(t, dps.Options{})
	ctx := context.Background()
	old := withRegistrationID(t, "oem-serial-0042")
	if _, err := enroll.Enroll(ctx, c, old, enroll.Settings{}, enroll.Options{}); err != nil {
		t.Fatal(err)
	}
	other := withRegistrationID(t, old.RegistrationID())

	_, err := enroll.Enroll(ctx, c, other, enroll.Settings{}, enroll.Options{})
	var conflict *enroll.ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, enroll.ErrConflict) {
		t.Fatalf("a different EK under an enrolled registration ID: got %v, want a conflict", err)
	}
	if !strings.Contains(err.Error(), "--replace") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("conflict message does not say what happened and what to do: %v", err)
	}
	stored, err := c.GetEnrollment(ctx, old.RegistrationID())
	if err != nil {
		t.Fatal(err)
	}
	if stored.Attestation.TPM.EndorsementKey != base64.StdEncoding.EncodeToString(old.EndorsementKey()) {
		t.Fatal("the refused enrollment overwrote the stored EK")
	}

	res, err := enroll.Enroll(ctx, c, other, enroll.Settings{}, enroll.Options{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != enroll.Replaced || res.PreviousEndorsementKey != base64.StdEncoding.EncodeToString(old.EndorsementKey()) {
		t.Fatalf("replace: outcome %q, previous key shown %t", res.Outcome, res.PreviousEndorsementKey != "")
	}
	if res.Enrollment.Attestation.TPM.EndorsementKey != base64.StdEncoding.EncodeToString(other.EndorsementKey()) {
		t.Error("replace did not store the new EK")
	}
}

func TestEnrollConcurrentScansCreateOnce(t *testing.T) {
	emu := emulatortest.Start(t)
	c := emu.Client(t, dps.Options{})
	id := newIdentity(t)
	const n = 8
	outcomes := make([]enroll.Outcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := enroll.Enroll(context.Background(), c, id, enroll.Settings{}, enroll.Options{})
			errs[i] = err
			if err == nil {
				outcomes[i] = res.Outcome
			}
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("scan %d: %v", i, errs[i])
		}
		if outcomes[i] == enroll.Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d of %d concurrent enrollments of one device report created, want exactly 1", created, n)
	}
}

func TestEnrollRefusesBadInputBeforeDPS(t *testing.T) {
	id := newIdentity(t)
	bad := []struct {
		name string
		id   identity.Verified
		s    enroll.Settings
		want string
	}{
		{"bad device ID", id, enroll.Settings{DeviceID: "a/b"}, "device ID"},
		{"hub as URL", id, enroll.Settings{IoTHub: "https://hub.azure-devices.net"}, "host name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			// No service: the request must be refused before anything is sent.
			_, err := enroll.Enrollment(tc.id, tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about the %s", err, tc.want)
			}
		})
	}
}

// An identity that did not come from identity.Parse or identity.Verify, the only thing a caller
// can build by hand, is refused before anything is sent: a nil client would panic if used.
func TestEnrollRefusesUnverifiedIdentity(t *testing.T) {
	var zero identity.Verified
	if _, err := enroll.Enrollment(zero, enroll.Settings{}); !errors.Is(err, identity.ErrNotVerified) {
		t.Errorf("Enrollment(zero Verified) = %v, want %v", err, identity.ErrNotVerified)
	}
	_, err := enroll.Enroll(context.Background(), nil, zero, enroll.Settings{}, enroll.Options{})
	if !errors.Is(err, identity.ErrNotVerified) || !strings.Contains(err.Error(), "identity.Parse") {
		t.Errorf("Enroll(zero Verified) = %v, want %v saying where a verified identity comes from", err, identity.ErrNotVerified)
	}
}

func TestEnrollmentMergesTagsIntoTwin(t *testing.T) {
	twin, err := enroll.ParseTwin([]byte(`{"tags":{"site":"lyon","line":"1"},"properties":{"desired":{"interval":30}}}`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := enroll.Enrollment(newIdentity(t), enroll.Settings{Twin: twin, Tags: map[string]string{"line": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	var tags map[string]string
	if err := json.Unmarshal(e.InitialTwin.Tags, &tags); err != nil {
		t.Fatal(err)
	}
	if tags["site"] != "lyon" || tags["line"] != "4" {
		t.Errorf("tags %v: want the file's site and the flag's line", tags)
	}
	if string(e.InitialTwin.Properties.Desired) != `{"interval":30}` {
		t.Errorf("desired properties %s", e.InitialTwin.Properties.Desired)
	}
	if string(twin.Tags) != `{"site":"lyon","line":"1"}` {
		t.Errorf("merging changed the parsed twin: %s", twin.Tags)
	}
}

func TestOutcomeOf(t *testing.T) {
	if o := enroll.OutcomeOf(&enroll.Result{Outcome: enroll.Created}, nil); o != enroll.Created {
		t.Errorf("created: %q", o)
	}
	if o := enroll.OutcomeOf(nil, fmt.Errorf("x: %w", &enroll.ConflictError{})); o != enroll.Conflict {
		t.Errorf("conflict: %q", o)
	}
	if o := enroll.OutcomeOf(nil, dps.ErrUnauthorized); o != enroll.Failed {
		t.Errorf("unauthorized: %q", o)
	}
}

// Eight companions race to enroll one registration ID, half of them scanning a device with one
// EK and half a device with another: exactly one enrollment is created; the others with its EK
// find it already enrolled, those with the other EK are refused, and DPS keeps the winner's key.
func TestEnrollRaceOfTwoKeysForOneID(t *testing.T) {
	emu := emulatortest.Start(t)
	c := emu.Client(t, dps.Options{})
	const n, regID = 8, "line-3-station-7"
	keys := [2]identity.Verified{withRegistrationID(t, regID), withRegistrationID(t, regID)}
	outcomes := make([]enroll.Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := enroll.Enroll(context.Background(), c, keys[i%2], enroll.Settings{}, enroll.Options{})
			outcomes[i] = enroll.OutcomeOf(res, err)
		})
	}
	wg.Wait()
	winner := -1
	for i, o := range outcomes {
		if o == enroll.Created {
			if winner >= 0 {
				t.Fatalf("two creations: companions %d and %d (%v)", winner, i, outcomes)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no enrollment created: %v", outcomes)
	}
	for i, o := range outcomes {
		want := enroll.AlreadyEnrolled
		if i%2 != winner%2 {
			want = enroll.Conflict
		}
		if i != winner && o != want {
			t.Errorf("companion %d (EK %d, the winner's is %d): %s, want %s", i, i%2, winner%2, o, want)
		}
	}
	e, err := c.GetEnrollment(context.Background(), regID)
	if err != nil || e.Attestation.TPM.EndorsementKey != base64.StdEncoding.EncodeToString(keys[winner%2].EndorsementKey()) {
		t.Fatalf("DPS holds %+v (%v), want the winner's EK", e, err)
	}
}

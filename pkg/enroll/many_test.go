package enroll_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/enroll"
	"github.com/oobtpm/oob/pkg/identity"
)

// EnrollMany follows Enroll's rules over more than one bulk request: new devices created, the
// same EK again already enrolled, another EK a conflict left as it was, bad settings refused
// before DPS; every item settled once through the callback, in request order.
func TestEnrollManyFollowsEnrollsRules(t *testing.T) {
	emu := emulatortest.Start(t)
	c := emu.Client(t, dps.Options{})
	ctx := context.Background()
	ek := ektest.New(t)
	var items []enroll.Item
	for i := range 23 {
		items = append(items, enroll.Item{ID: ektest.Verify(t, identity.Identity{RegistrationID: fmt.Sprintf("many-%02d", i), EndorsementKey: ek})})
	}
	items[7].Settings.DeviceID = "bad device id?" // refused before sending
	if _, err := c.CreateOrUpdateEnrollment(ctx, ektest.Enrollment("many-03", ek), ""); err != nil {
		t.Fatal(err)
	}
	other := ektest.New(t)
	if _, err := c.CreateOrUpdateEnrollment(ctx, ektest.Enrollment("many-15", other), ""); err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	results := enroll.EnrollMany(ctx, c, items, func(_ []enroll.ItemResult, indexes []int) {
		for _, i := range indexes {
			seen[i]++
		}
	})
	for i, r := range results {
		got := enroll.OutcomeOf(r.Result, r.Err)
		want := enroll.Created
		switch i {
		case 3:
			want = enroll.AlreadyEnrolled
		case 7:
			want = enroll.Failed
		case 15:
			want = enroll.Conflict
		}
		if got != want || seen[i] != 1 {
			t.Errorf("item %d: %s (%v), settled %d times; want %s once", i, got, r.Err, seen[i], want)
		}
	}
	var conflict *enroll.ConflictError
	if !errors.As(results[15].Err, &conflict) {
		t.Errorf("item 15: %v", results[15].Err)
	}
	e, err := c.GetEnrollment(ctx, "many-15")
	if err != nil || e.Attestation.TPM.EndorsementKey != ektest.Enrollment("", other).Attestation.TPM.EndorsementKey {
		t.Errorf("the conflicting enrollment was changed: %v", err)
	}
	if _, err := c.GetEnrollment(ctx, "many-22"); err != nil {
		t.Errorf("the last item, in the third request: %v", err)
	}
}

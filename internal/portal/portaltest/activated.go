package portaltest

import (
	"context"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
)

// RecordBoards records boards guids shipped to customer (recorded first if it is not), the
// first activated of them activated, with no enrollment anywhere: for tests of what the portal
// records about boards after activation.
func RecordBoards(t testing.TB, s *records.Store, customer string, activated int, guids ...string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, g := range guids {
		b := &records.Board{GUID: g, KeySHA256: "k-" + g, Certificate: "c", Serial: "s-" + g, Station: "line4", IssuedAt: now, NotAfter: now.AddDate(15, 0, 0)}
		if err := s.AddBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.AddCustomer(ctx, customer) // already recorded is fine
	if err := s.Ship(ctx, customer, guids, "shipping"); err != nil {
		t.Fatal(err)
	}
	for _, g := range guids[:activated] {
		if err := s.SetActivationCode(ctx, g, "code-"+g, "labels"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Activate(ctx, records.Activation{GUID: g, Customer: customer, CodeSHA256: "code-" + g, Actor: "ann@" + customer + ".example", Address: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
}

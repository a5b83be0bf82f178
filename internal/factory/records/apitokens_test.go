package records

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAPITokens(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		tok := &APIToken{ID: "t1", TokenSHA256: "h1", Customer: "acme", Name: "erp", Role: RoleActivator, CreatedBy: "op", CreatedAt: now}
		if err := s.AddAPIToken(ctx, tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("a token for an unknown customer: %v", err)
		}
		for _, c := range []string{"acme", "other"} {
			if err := s.AddCustomer(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddAPIToken(ctx, &APIToken{ID: "t0", TokenSHA256: "h0", Customer: "acme", Name: "x", Role: RoleAdmin, CreatedBy: "op", CreatedAt: now}); err == nil {
			t.Error("an admin API token was recorded")
		}
		if err := s.AddAPIToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if err := s.AddAPIToken(ctx, &APIToken{ID: "t2", TokenSHA256: "h2", Customer: "other", Name: "bi", Role: RoleViewer, CreatedBy: "op", CreatedAt: now.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.APITokenByHash(ctx, "h1")
		if err != nil || got.ID != "t1" || got.Customer != "acme" || got.Role != RoleActivator || !got.LastUsedAt.IsZero() {
			t.Fatalf("token by hash: %+v %v", got, err)
		}
		if err := s.TouchAPIToken(ctx, "t1", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if list, err := s.APITokens(ctx, "acme"); err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(now.Add(time.Minute)) {
			t.Errorf("acme's tokens: %+v %v", list, err)
		}
		if list, _ := s.APITokens(ctx, ""); len(list) != 2 {
			t.Errorf("every token: %+v", list)
		}
		if err := s.RevokeAPIToken(ctx, "other", "t1", "op", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking another customer's token: %v", err)
		}
		if err := s.RevokeAPIToken(ctx, "acme", "t1", "op", now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APITokenByHash(ctx, "h1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a revoked token still authenticates: %v", err)
		}
		if err := s.RevokeAPIToken(ctx, "acme", "t1", "op", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking twice: %v", err)
		}
		if list, _ := s.APITokens(ctx, "acme"); len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Errorf("revoked token in the list: %+v", list)
		}
		// Made and revoked by an operator who is no portal user, the changes are still in the
		// organisation's own trail, where its admins read them.
		lines, _, err := s.CustomerAudit(ctx, "acme", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, l := range lines {
			actions = append(actions, l.Action)
		}
		if got := fmt.Sprint(actions); got != "[api-token-revoked api-token-created]" {
			t.Errorf("acme's audit trail: %s", got)
		}
	})
}

func TestCustomerBoardsAfterPagesWithoutRepeats(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.AddCustomer(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		var first, second []string
		for i := range 5 {
			g := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if err := s.AddBoard(ctx, board(g, g)); err != nil {
				t.Fatal(err)
			}
			if i < 3 {
				first = append(first, g)
			} else {
				second = append(second, g)
			}
		}
		// Two shipments: the later one comes first, each in GUID order.
		if err := s.Ship(ctx, "acme", first, "op"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // two shipment times, not one
		if err := s.Ship(ctx, "acme", second, "op"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActivationCode(ctx, first[1], "c", "op"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: first[1], Customer: "acme", CodeSHA256: "c", Actor: "ann"}); err != nil {
			t.Fatal(err)
		}
		var seen []string
		q := BoardQuery{Customer: "acme", Limit: 2}
		for {
			page, err := s.CustomerBoardsAfter(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page {
				seen = append(seen, b.GUID)
			}
			if len(page) < q.Limit {
				break
			}
			q.After = &page[len(page)-1].Board
		}
		want := append(append([]string{}, second...), first...)
		if fmt.Sprint(seen) != fmt.Sprint(want) {
			t.Errorf("pages: %v, want %v", seen, want)
		}
		yes, no := true, false
		if got, _ := s.CustomerBoardsAfter(ctx, BoardQuery{Customer: "acme", Activated: &yes, Limit: 10}); len(got) != 1 || got[0].GUID != first[1] {
			t.Errorf("activated: %v", got)
		}
		if got, _ := s.CustomerBoardsAfter(ctx, BoardQuery{Customer: "acme", Activated: &no, Limit: 10}); len(got) != 4 {
			t.Errorf("not activated: %v", got)
		}
		if got, _ := s.CustomerBoardsAfter(ctx, BoardQuery{Customer: "other", Limit: 10}); len(got) != 0 {
			t.Errorf("another customer's: %v", got)
		}
	})
}

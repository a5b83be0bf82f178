package records

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestInvitesUsersAndSessions(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		inv := &Invite{TokenSHA256: "tok1", Email: "ann@acme.example", Customer: "acme", Role: RoleActivator, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.AddInvite(ctx, inv, "op"); !errors.Is(err, ErrNotFound) {
			t.Errorf("invite for an unknown customer: %v", err)
		}
		for _, c := range []string{"acme", "other"} {
			if err := s.AddCustomer(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddInvite(ctx, &Invite{TokenSHA256: "x", Email: "a@b", Customer: "acme", Role: "root", CreatedAt: now, ExpiresAt: now}, "op"); err == nil {
			t.Error("an invitation with an unknown role was recorded")
		}
		if err := s.AddInvite(ctx, inv, "op"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PendingInvite(ctx, "tok1", now.Add(2*time.Hour)); !errors.Is(err, ErrInviteUsed) {
			t.Errorf("expired invitation: %v", err)
		}
		u, err := s.AcceptInvite(ctx, "tok1", "HASH", "192.0.2.1", now)
		if err != nil {
			t.Fatal(err)
		}
		if u.Customer != "acme" || u.Role != RoleActivator {
			t.Errorf("user: %+v", u)
		}
		if _, err := s.AcceptInvite(ctx, "tok1", "HASH2", "192.0.2.1", now); !errors.Is(err, ErrInviteUsed) {
			t.Errorf("second use of an invitation: %v", err)
		}
		if got, err := s.User(ctx, "ann@acme.example"); err != nil || got.PasswordHash != "HASH" {
			t.Errorf("user after a refused second use: %+v %v", got, err)
		}
		// The same address cannot be invited into a second organisation.
		if err := s.AddInvite(ctx, &Invite{TokenSHA256: "tok2", Email: "ann@acme.example", Customer: "other", Role: RoleViewer, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "op"); !errors.Is(err, ErrExists) {
			t.Errorf("invitation into a second organisation: %v", err)
		}
		ses := &Session{IDSHA256: "sid", Email: u.Email, FormToken: "ft", CreatedAt: now, LastSeenAt: now}
		if err := s.AddSession(ctx, ses); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Minute)
		if err := s.TouchSession(ctx, "sid", later); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Session(ctx, "sid"); err != nil || got.Email != u.Email || !got.LastSeenAt.Equal(later) {
			t.Errorf("session: %+v %v", got, err)
		}
		if err := s.DeleteSession(ctx, "sid"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "sid"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ended session: %v", err)
		}
	})
}

func TestActivatedSpendsTheCode(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, c := range []string{"acme", "other"} {
			if err := s.AddCustomer(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Ship(ctx, "acme", []string{g1}, "op"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActivationCode(ctx, g1, "codehash", "op"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: g1, Customer: "other", CodeSHA256: "codehash", Actor: "eve"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("activation by another customer: %v", err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: g1, Customer: "acme", CodeSHA256: "wrong", Actor: "ann"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("activation with a wrong code: %v", err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: g1, Customer: "acme", CodeSHA256: "codehash", Actor: "ann@acme.example", Detail: "hub h.example", Address: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: g1, Customer: "acme", CodeSHA256: "codehash", Actor: "ann@acme.example"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("second activation with a spent code: %v", err)
		}
		b, _ := s.Board(ctx, g1)
		if b.State != StateActivated || b.ActivatedAt.IsZero() {
			t.Errorf("board after activation: %+v", b)
		}
		boards, total, err := s.CustomerBoards(ctx, "acme", 10, 0)
		if err != nil || total != 1 || len(boards) != 1 || boards[0].GUID != g1 {
			t.Errorf("acme's boards: %v %d %v", boards, total, err)
		}
		if _, total, _ := s.CustomerBoards(ctx, "other", 10, 0); total != 0 {
			t.Errorf("other's boards: %d", total)
		}
		trail, _ := s.Audit(ctx, g1)
		last := trail[len(trail)-1]
		if last.Action != "activated" || last.Actor != "ann@acme.example" || last.Address != "192.0.2.7" {
			t.Errorf("audit: %+v", last)
		}
	})
}

package records

import (
	"context"
	"testing"
	"time"
)

func TestConnections(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const g2, g3 = "1b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b", "2b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
		for i, g := range []string{g1, g2, g3} {
			if err := s.AddBoard(ctx, board(g, "k"+g[:1]+string(rune('a'+i)))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddCustomer(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if err := s.Ship(ctx, "acme", []string{g1, g2, g3}, "op"); err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{g1, g2} {
			if err := s.SetActivationCode(ctx, g, "code-"+g, "op"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Activate(ctx, Activation{GUID: g, Customer: "acme", CodeSHA256: "code-" + g, Actor: "ann", Address: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		due, err := s.ConnectionsDue(ctx, now, 10)
		if err != nil || len(due) != 2 || due[0] != g1 || due[1] != g2 {
			t.Fatalf("due before any check: %v %v (want the two activated boards)", due, err)
		}

		since := now.Add(-time.Minute).UTC().Truncate(time.Millisecond)
		c := &Connection{GUID: g2, State: ConnConnected, Hub: "h.azure-devices.net", DeviceID: g2, Since: since, LastActivity: since, CheckedAt: now}
		if err := s.SetConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.SetConnection(ctx, &Connection{GUID: g1, State: "online", CheckedAt: now}); err == nil {
			t.Fatal("an unknown state was recorded")
		}
		// g1, never checked, comes first; g2, checked now, is not due before now.
		if due, _ := s.ConnectionsDue(ctx, now.Add(-time.Hour), 10); len(due) != 1 || due[0] != g1 {
			t.Fatalf("due an hour ago: %v", due)
		}
		got, err := s.Connections(ctx, []string{g1, g2, g3})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got[g1]; ok || len(got) != 1 {
			t.Fatalf("connections: %+v", got)
		}
		if r := got[g2]; r.State != ConnConnected || r.Hub != c.Hub || !r.Since.Equal(since) || !r.LastActivity.Equal(since) || r.CheckedAt.Unix() != now.Unix() {
			t.Fatalf("recorded %+v, want %+v", r, c)
		}

		// Recorded again: replaced, not added.
		c.State, c.Error, c.CheckedAt = ConnUnknown, "the hub is throttling", now.Add(time.Second)
		if err := s.SetConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Connections(ctx, []string{g2})
		if r := got[g2]; r.State != ConnUnknown || r.Error != "the hub is throttling" {
			t.Fatalf("after the second check: %+v", r)
		}
	})
}

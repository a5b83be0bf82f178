package records

import (
	"errors"
	"testing"
	"time"
)

// TestDeactivateReactivateEdit: each change applies to its states only (ErrWrongState, nothing
// recorded otherwise), another organisation's board is not found, a re-activated board is
// registered again if it had registered, an edit's metadata is searched; each change audited.
func TestDeactivateReactivateEdit(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		g := shipFleet(t, s, "acme", 2, 2)
		who := func(guid string) Change {
			return Change{GUID: guid, Customer: "acme", Actor: "ann@acme.example", Detail: "d", Address: "192.0.2.1"}
		}
		if err := s.Deactivate(ctx, who(g[0])); !errors.Is(err, ErrWrongState) {
			t.Errorf("deactivating a shipped board: %v", err)
		}
		if err := s.SetActivationCode(ctx, g[0], "h", "labels"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: g[0], Customer: "acme", CodeSHA256: "h", Hub: "hub-1.example.net", Metadata: map[string]string{"location": "Hall 3"}, Actor: "ann"}); err != nil {
			t.Fatal(err)
		}
		other := who(g[0])
		other.Customer = "globex"
		if err := s.Deactivate(ctx, other); !errors.Is(err, ErrNotFound) {
			t.Errorf("another organisation's deactivation: %v", err)
		}
		if err := s.Reactivate(ctx, who(g[0])); !errors.Is(err, ErrWrongState) {
			t.Errorf("re-activating an active board: %v", err)
		}
		edit := who(g[0])
		edit.Hub, edit.Metadata = "hub-2.example.net", map[string]string{"location": "Hall 9, Lyon"}
		if err := s.EditMetadata(ctx, edit); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Fleet(ctx, "acme", FleetFilter{Text: "hall 9"}, Cursor{}, Cursor{}, 10); len(p.Boards) != 1 || p.Boards[0].Hub != "hub-2.example.net" {
			t.Errorf("the edit's metadata searched: %+v", p.Boards)
		}
		if _, err := s.Registered(ctx, g[0], "hub-2.example.net", time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.EditMetadata(ctx, edit); !errors.Is(err, ErrWrongState) {
			t.Errorf("editing a registered board: %v", err)
		}
		if err := s.Deactivate(ctx, who(g[0])); err != nil {
			t.Fatal(err)
		}
		b, _ := s.CustomerBoard(ctx, "acme", g[0])
		if b.FleetState != FleetDeactivated || b.DeactivatedAt.IsZero() {
			t.Errorf("deactivated: %s at %v", b.FleetState, b.DeactivatedAt)
		}
		if p, _ := s.Fleet(ctx, "acme", FleetFilter{State: FleetDeactivated}, Cursor{}, Cursor{}, 10); len(p.Boards) != 1 {
			t.Errorf("the deactivated boards: %d", len(p.Boards))
		}
		if err := s.Reactivate(ctx, who(g[0])); err != nil {
			t.Fatal(err)
		}
		b, _ = s.CustomerBoard(ctx, "acme", g[0])
		if b.FleetState != FleetRegistered || !b.DeactivatedAt.IsZero() || b.RegisteredHub != "hub-2.example.net" {
			t.Errorf("re-activated: %s %v %s", b.FleetState, b.DeactivatedAt, b.RegisteredHub)
		}
		trail, _ := s.Audit(ctx, g[0])
		var got []string
		for _, l := range trail {
			if l.Actor == "ann@acme.example" {
				got = append(got, l.Action)
				if l.Address != "192.0.2.1" {
					t.Errorf("audit line without its address: %+v", l)
				}
			}
		}
		if len(got) != 3 || got[0] != "metadata-edited" || got[1] != "deactivated" || got[2] != "reactivated" {
			t.Errorf("audited: %v", got)
		}
	})
}

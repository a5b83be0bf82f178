package records

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

var fleetSeq int

// shipFleet records n boards shipped to customer in shipments of per, and returns their GUIDs.
func shipFleet(t testing.TB, s *Store, customer string, n, per int) []string {
	t.Helper()
	ctx := context.Background()
	_ = s.AddCustomer(ctx, customer)
	var all []string
	for i := 0; i < n; i += per {
		var batch []string
		for j := i; j < min(i+per, n); j++ {
			fleetSeq++
			g := fmt.Sprintf("%08x-0000-4000-8000-%012d", fleetSeq*2654435761%(1<<32), fleetSeq)
			if err := s.AddBoard(ctx, board(g, "k"+g)); err != nil {
				t.Fatal(err)
			}
			batch = append(batch, g)
		}
		if err := s.Ship(ctx, customer, batch, "shipping"); err != nil {
			t.Fatal(err)
		}
		all = append(all, batch...)
	}
	return all
}

func guidsOf(p *FleetPage) []string {
	var out []string
	for _, b := range p.Boards {
		out = append(out, b.GUID)
	}
	return out
}

func TestFleetKeysetPages(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		want := shipFleet(t, s, "acme", 60, 20)
		shipFleet(t, s, "globex", 3, 3)
		var seen []string
		var pages []*FleetPage
		var after Cursor
		for {
			p, err := s.Fleet(ctx, "acme", FleetFilter{}, after, Cursor{}, 25)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, p)
			seen = append(seen, guidsOf(p)...)
			if p.Next == nil {
				break
			}
			after = *p.Next
		}
		if len(pages) != 3 || len(seen) != 60 {
			t.Fatalf("%d pages, %d boards", len(pages), len(seen))
		}
		sorted := slices.Clone(want)
		slices.Sort(sorted)
		got := slices.Clone(seen)
		slices.Sort(got)
		if !slices.Equal(sorted, got) {
			t.Fatal("the pages did not hold each of acme's boards once")
		}
		// Newest shipment first: the last shipment's boards lead.
		if !slices.Contains(want[40:], seen[0]) || !slices.Contains(want[:20], seen[59]) {
			t.Errorf("order: first %s last %s", seen[0], seen[59])
		}
		if pages[0].Prev != nil || pages[1].Prev == nil || pages[2].Next != nil {
			t.Error("the ends of the list have the wrong links")
		}
		// Back from the third page is the second page again, with links both ways.
		back, err := s.Fleet(ctx, "acme", FleetFilter{}, Cursor{}, *pages[2].Prev, 25)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(guidsOf(back), guidsOf(pages[1])) || back.Prev == nil || back.Next == nil {
			t.Errorf("back from page 3: %v, prev %v next %v", guidsOf(back), back.Prev, back.Next)
		}
		first, _ := s.Fleet(ctx, "acme", FleetFilter{}, Cursor{}, *back.Prev, 25)
		if !slices.Equal(guidsOf(first), guidsOf(pages[0])) || first.Prev != nil {
			t.Errorf("back to page 1: prev %v", first.Prev)
		}
		if n, more, _ := s.FleetCount(ctx, "acme", FleetFilter{}, 60); n != 60 || more {
			t.Errorf("count %d, more %v", n, more)
		}
		if n, more, _ := s.FleetCount(ctx, "acme", FleetFilter{}, 59); n != 59 || !more {
			t.Errorf("count up to 59: %d, more %v", n, more)
		}
	})
}

func TestFleetSearchAndStates(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		guids := shipFleet(t, s, "acme", 6, 6)
		theirs := shipFleet(t, s, "globex", 1, 1)
		for i, g := range guids[:3] {
			if err := s.SetActivationCode(ctx, g, "h"+g, "labels"); err != nil {
				t.Fatal(err)
			}
			meta := map[string]string{"location": fmt.Sprintf("Hall %d, 100%% Lyon_Est", i), "chassis": fmt.Sprintf("CH-%d", i)}
			if _, err := s.Activate(ctx, Activation{GUID: g, Customer: "acme", CodeSHA256: "h" + g, Hub: "hub-1.azure-devices.net", Metadata: meta, Actor: "ann"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetActivationCode(ctx, theirs[0], "h", "labels"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Activate(ctx, Activation{GUID: theirs[0], Customer: "acme", CodeSHA256: "h"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("activating another organisation's board: %v", err)
		}
		if _, err := s.Registered(ctx, guids[0], "hub-1.azure-devices.net", time.Now(), time.Now()); err != nil {
			t.Fatal(err)
		}
		count := func(f FleetFilter) int {
			t.Helper()
			p, err := s.Fleet(ctx, "acme", f, Cursor{}, Cursor{}, 25)
			if err != nil {
				t.Fatal(err)
			}
			n, more, err := s.FleetCount(ctx, "acme", f, 100)
			if err != nil || n != len(p.Boards) || more {
				t.Fatalf("count %d, page %d: %v", n, len(p.Boards), err)
			}
			return n
		}
		for name, c := range map[string]struct {
			f    FleetFilter
			want int
		}{
			"shipped":                  {FleetFilter{State: FleetShipped}, 3},
			"activated":                {FleetFilter{State: FleetActivated}, 2},
			"registered":               {FleetFilter{State: FleetRegistered}, 1},
			"text, any case":           {FleetFilter{Text: "hALL 1"}, 1},
			"text in any field":        {FleetFilter{Text: "ch-2"}, 1},
			"text of the hub":          {FleetFilter{Text: "hub-1"}, 3},
			"a percent sign, literal":  {FleetFilter{Text: "100%"}, 3},
			"an underscore, literal":   {FleetFilter{Text: "n_e"}, 3},
			"no wildcard from percent": {FleetFilter{Text: "h%1"}, 0},
			"text and state":           {FleetFilter{Text: "hall", State: FleetActivated}, 2},
			"GUID prefix":              {FleetFilter{GUIDPrefix: guids[4][:8]}, 1},
			"whole GUID":               {FleetFilter{GUIDPrefix: guids[4]}, 1},
			"another org's GUID":       {FleetFilter{GUIDPrefix: theirs[0]}, 0},
		} {
			if got := count(c.f); got != c.want {
				t.Errorf("%s: %d boards, want %d", name, got, c.want)
			}
		}
		b, err := s.CustomerBoard(ctx, "acme", guids[1])
		if err != nil || b.FleetState != FleetActivated || b.Hub != "hub-1.azure-devices.net" || b.Metadata["chassis"] != "CH-1" || b.ActivatedAt.IsZero() {
			t.Errorf("activated board: %+v %v", b, err)
		}
		if _, err := s.CustomerBoard(ctx, "acme", theirs[0]); !errors.Is(err, ErrNotFound) {
			t.Errorf("another organisation's board: %v", err)
		}
	})
}

func TestRegistrationRefreshRecords(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		guids := shipFleet(t, s, "acme", 4, 4)
		for _, g := range guids[:3] {
			_ = s.SetActivationCode(ctx, g, "h", "labels")
			if _, err := s.Activate(ctx, Activation{GUID: g, Customer: "acme", CodeSHA256: "h", Hub: "hub.example.net"}); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now()
		due, err := s.RegistrationDue(ctx, now, 10)
		if err != nil || len(due) != 3 || slices.Contains(due, guids[3]) {
			t.Fatalf("due: %v %v", due, err)
		}
		if err := s.RegistrationChecked(ctx, due[0], now); err != nil {
			t.Fatal(err)
		}
		if due2, _ := s.RegistrationDue(ctx, now, 10); len(due2) != 2 || slices.Contains(due2, due[0]) {
			t.Errorf("a board just read is due again: %v", due2)
		}
		if due3, _ := s.RegistrationDue(ctx, now.Add(time.Second), 1); len(due3) != 1 || due3[0] == due[0] {
			t.Errorf("the longest unread should come first: %v", due3)
		}
		at := now.Add(-time.Minute).UTC().Truncate(time.Millisecond)
		news, err := s.Registered(ctx, due[1], "hub-2.example.net", at, now)
		if err != nil || !news {
			t.Fatalf("registered: %v %v", news, err)
		}
		if again, _ := s.Registered(ctx, due[1], "hub-2.example.net", at, now); again {
			t.Error("the same registration was news twice")
		}
		if notActivated, _ := s.Registered(ctx, guids[3], "hub.example.net", at, now); notActivated {
			t.Error("a board never activated was recorded registered")
		}
		b, _ := s.CustomerBoard(ctx, "acme", due[1])
		if b.FleetState != FleetRegistered || b.RegisteredHub != "hub-2.example.net" || !b.RegisteredAt.Equal(at) {
			t.Errorf("registered board: %s %s %s", b.FleetState, b.RegisteredHub, b.RegisteredAt)
		}
		trail, _ := s.Audit(ctx, due[1])
		if last := trail[len(trail)-1]; last.Action != "registered" || last.Detail != "assigned to hub hub-2.example.net" {
			t.Errorf("audit: %+v", last)
		}
		if due4, _ := s.RegistrationDue(ctx, now.Add(time.Hour), 10); slices.Contains(due4, due[1]) {
			t.Error("a registered board is still due a read")
		}
		if v, _ := s.SchemaVersion(ctx); v != len(migrations)-1 {
			t.Errorf("schema version %d", v)
		}
	})
}

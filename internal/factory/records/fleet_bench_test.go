package records

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// seedFleet writes n boards shipped to acme in shipments of 1,000 straight into the table, in one
// transaction (AddBoard's transaction and fsync a board would take minutes at 100,000): every
// third activated with metadata, every tenth of those registered, and 1,000 boards of another
// customer beside them.
func seedFleet(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := strings.Repeat("M", 900) // a leaf certificate's PEM is about this long
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO boards (`+boardCols+`, fleet_state, hub, registered_hub, registered_at, metadata, search_text)
VALUES (?, 'k', ?, '', 's', 'st', 'L', 'B', ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer ins.Close()
		for i := range n + 1000 {
			customer := "acme"
			if i >= n {
				customer = "globex"
			}
			g := fmt.Sprintf("%08x-%04x-4000-8000-%012d", uint32(i)*2654435761, i%0xffff, i)
			shipped := ts(start.Add(time.Duration(i/1000) * time.Hour))
			state, fleet, hub, regHub, meta := StatePreEnrolled, FleetShipped, "", "", "{}"
			var activated, registered any
			if i%3 == 0 {
				state, fleet, hub, activated = StateActivated, FleetActivated, fmt.Sprintf("hub-%d.azure-devices.net", i%7), shipped
				meta = fmt.Sprintf(`{"location":"Hall %d, site %d","chassis":"CH-%06d"}`, i%50, i%900, i)
				if i%30 == 0 {
					fleet, regHub, registered = FleetRegistered, hub, shipped
				}
			}
			if _, err := ins.ExecContext(ctx, g, cert, shipped, shipped, state, customer, shipped, activated,
				fleet, hub, regHub, registered, meta, searchText(hub, map[string]string{"m": meta})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFleetList measures one page of the fleet list (25 boards and the filter's count) at
// 100,000 boards on SQLite (counted up to 10,000, as the page does): the first page, a deep page
// (the 3,000th, by its cursor), a search by GUID prefix, three by text in the metadata (a rare
// one, about 30 boards; a common one, about 700; and one of two characters, too short for the
// word index, which every activated board's text is tested against), and one by state.
func BenchmarkFleetList(b *testing.B) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100_000
	seedFleet(b, s, n)
	prefix := uint32(77777)
	// The cursor of a deep page: walk there once, as a user clicking Next would.
	var deep Cursor
	for p := 0; p < 3000; p++ {
		page, err := s.Fleet(ctx, "acme", FleetFilter{}, deep, Cursor{}, 25)
		if err != nil || page.Next == nil {
			b.Fatalf("page %d: %v", p, err)
		}
		deep = *page.Next
	}
	for _, c := range []struct {
		name  string
		f     FleetFilter
		after Cursor
	}{
		{"first", FleetFilter{}, Cursor{}},
		{"deep", FleetFilter{}, deep},
		{"guid-prefix", FleetFilter{GUIDPrefix: fmt.Sprintf("%08x", prefix*2654435761)[:6]}, Cursor{}},
		{"text", FleetFilter{Text: "ch-0424"}, Cursor{}},
		{"text-common", FleetFilter{Text: "hall 7, site"}, Cursor{}},
		{"text-short", FleetFilter{Text: "7,"}, Cursor{}},
		{"state-registered", FleetFilter{State: FleetRegistered}, Cursor{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := s.Fleet(ctx, "acme", c.f, c.after, Cursor{}, 25)
				if err != nil || len(page.Boards) == 0 {
					b.Fatalf("%d boards: %v", len(page.Boards), err)
				}
				if _, _, err := s.FleetCount(ctx, "acme", c.f, 10_000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

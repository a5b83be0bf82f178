package records

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	_ "modernc.org/sqlite"
)

// found returns the GUIDs of acme's boards the list finds for text, checking that the count
// agrees.
func found(t *testing.T, s *Store, text string) []string {
	t.Helper()
	ctx := context.Background()
	p, err := s.Fleet(ctx, "acme", FleetFilter{Text: text}, Cursor{}, Cursor{}, 25)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := s.FleetCount(ctx, "acme", FleetFilter{Text: text}, 100)
	if err != nil || n != len(p.Boards) {
		t.Fatalf("%q: count %d, page %d: %v", text, n, len(p.Boards), err)
	}
	g := guidsOf(p)
	slices.Sort(g)
	return g
}

// TestFleetTextSearchFollowsEdits: the word index is kept with the boards: a text is found
// after activation, an edit replaces the old text with the new one, a deactivation keeps it,
// and a text too short for the index (one or two characters), or written in letters outside
// ASCII, is found all the same.
func TestFleetTextSearchFollowsEdits(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		g := shipFleet(t, s, "acme", 3, 3)
		slices.Sort(g)
		for i, guid := range g[:2] {
			if err := s.SetActivationCode(ctx, guid, "h", "labels"); err != nil {
				t.Fatal(err)
			}
			meta := map[string]string{"location": fmt.Sprintf("Zürich hall %d", i), "chassis": fmt.Sprintf("CH-%d", 40+i)}
			if _, err := s.Activate(ctx, Activation{GUID: guid, Customer: "acme", CodeSHA256: "h", Hub: "hub-1.example.net", Metadata: meta, Actor: "ann"}); err != nil {
				t.Fatal(err)
			}
		}
		for text, want := range map[string][]string{
			"zürich hall 1": g[1:2], "ZÜRICH": g[:2], "ch-40": g[:1], "4": g[:2], "h": g[:2], "l 0": g[:1], "hub-1.example": g[:2], "nowhere": nil,
		} {
			if got := found(t, s, text); !slices.Equal(got, want) {
				t.Errorf("%q found %v, want %v", text, got, want)
			}
		}
		if err := s.EditMetadata(ctx, Change{GUID: g[0], Customer: "acme", Hub: "hub-2.example.net", Metadata: map[string]string{"location": "Lyon dock"}, Actor: "ann"}); err != nil {
			t.Fatal(err)
		}
		for text, want := range map[string][]string{"lyon dock": g[:1], "zürich": g[1:2], "ch-40": nil, "hub-2": g[:1]} {
			if got := found(t, s, text); !slices.Equal(got, want) {
				t.Errorf("after the edit, %q found %v, want %v", text, got, want)
			}
		}
		if err := s.Deactivate(ctx, Change{GUID: g[0], Customer: "acme", Actor: "ann"}); err != nil {
			t.Fatal(err)
		}
		if got := found(t, s, "lyon"); !slices.Equal(got, g[:1]) {
			t.Errorf("a deactivated board's text: found %v", got)
		}
	})
}

// TestMigration10IndexesTheBoardsThere: a SQLite database at schema 9 whose boards were
// activated with metadata is searched through the word index once opened: the migration puts
// the boards already there into it.
func TestMigration10IndexesTheBoardsThere(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`}
	for v := 1; v <= 9; v++ {
		stmts = append(stmts, migrations[v], fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 'then')`, v))
	}
	stmts = append(stmts, `INSERT INTO customers (name, created_at) VALUES ('acme', '2026-01-01T00:00:00Z')`)
	for i, text := range []string{"hub-1.example.net\nch-7\nhall 3", "hub-1.example.net\nch-8\ndock 9"} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO boards (guid, key_sha256, certificate, chain, serial, station, line, batch, issued_at, not_after, state,
customer, shipped_at, fleet_state, search_text) VALUES ('g%d', 'k%d', 'c', '', 's%d', 'st', 'L', 'B', '2026-01-01T00:00:00Z', '2036-01-01T00:00:00Z', 'activated',
'acme', '2026-01-02T00:00:0%dZ', 'activated', '%s')`, i, i, i, i, text))
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for text, want := range map[string][]string{"hall 3": {"g0"}, "dock 9": {"g1"}, "example": {"g0", "g1"}} {
		if got := found(t, s, text); !slices.Equal(got, want) {
			t.Errorf("%q found %v, want %v", text, got, want)
		}
	}
}

// TestFleetTextPlansAgree: the two ways SQLite finds a text (through the word index, for texts
// that few boards hold, or by walking the organisation's boards, for common ones) find the same
// boards in the same order, on every page and in the count, for rare, common, short and
// wildcard-looking texts, with and without a state.
func TestFleetTextPlansAgree(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := shipFleet(t, s, "acme", 60, 20)
	shipFleet(t, s, "globex", 5, 5)
	for i, guid := range g {
		if i%2 == 1 {
			continue
		}
		if err := s.SetActivationCode(ctx, guid, "h", "labels"); err != nil {
			t.Fatal(err)
		}
		meta := map[string]string{"location": fmt.Sprintf("Hall %d, 100%% Lyon_Est", i%5), "chassis": fmt.Sprintf("CH-%03d", i)}
		if _, err := s.Activate(ctx, Activation{GUID: guid, Customer: "acme", CodeSHA256: "h", Hub: "hub-1.example.net", Metadata: meta, Actor: "ann"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []FleetFilter{{Text: "hall 3"}, {Text: "ch-01"}, {Text: "hub-1"}, {Text: "100%"}, {Text: "n_e"}, {Text: "h%1"},
		{Text: "lyon", State: FleetActivated}, {Text: "nowhere"}} {
		var pages [2][]string
		var counts [2]int
		for i, viaIndex := range []bool{true, false} {
			var after Cursor
			for {
				p, err := s.fleet(ctx, "acme", f, after, Cursor{}, 7, viaIndex)
				if err != nil {
					t.Fatal(err)
				}
				pages[i] = append(pages[i], guidsOf(p)...)
				if p.Next == nil {
					break
				}
				after = *p.Next
			}
			if counts[i], _, err = s.fleetCount(ctx, "acme", f, 100, viaIndex); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(pages[0], pages[1]) || counts[0] != counts[1] || counts[0] != len(pages[0]) {
			t.Errorf("%+v: through the index %d boards (count %d), walking %d (count %d)", f, len(pages[0]), counts[0], len(pages[1]), counts[1])
		}
	}
}

package portaltest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
)

// SeedFleet writes n boards shipped to customer, in shipments of 1,000 an hour apart, straight
// into the SQLite database in dir (as records.OpenSQLite opened it), in one transaction: one
// AddBoard transaction and fsync a board would take minutes at 100,000. Every third board is
// activated with a location and a chassis number (and its activation audited), every tenth of
// those registered to its hub. first numbers the boards, so that two calls (two customers, say)
// write different GUIDs; it returns the GUIDs written, in order. For benchmarks at a real
// fleet's size: the rows are what the portal writes, not how it writes them.
func SeedFleet(t testing.TB, dir, customer string, first, n int) []string {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, records.DatabaseFile)+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	if _, err := tx.ExecContext(ctx, `INSERT INTO customers (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, customer, records.TimeText(time.Now())); err != nil {
		t.Fatal(err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO boards (guid, key_sha256, certificate, chain, serial, station, line, batch, issued_at, not_after,
state, reissue, customer, shipped_at, activated_at, fleet_state, hub, registered_hub, registered_at, registration_checked_at, metadata, search_text)
VALUES (?, ?, ?, '', ?, 'line4', '4', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer ins.Close()
	audit, err := tx.PrepareContext(ctx, `INSERT INTO audit (at, actor, action, guid, detail, address, customer) VALUES (?, ?, 'activated', ?, ?, '192.0.2.1', ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := strings.Repeat("M", 900) // a leaf certificate's PEM is about this long
	guids := make([]string, n)
	for i := range n {
		k := first + i
		g := fmt.Sprintf("%08x-%04x-4000-8000-%012d", uint32(k)*2654435761, k%0xffff, k)
		guids[i] = g
		shipped := records.TimeText(start.Add(time.Duration(i/1000) * time.Hour))
		state, fleet, hub, regHub, meta, search := records.StatePreEnrolled, records.FleetShipped, "", "", "{}", ""
		var activated, registered, checked any
		if i%3 == 0 {
			state, fleet, hub, activated, checked = records.StateActivated, records.FleetActivated, fmt.Sprintf("hub-%d.azure-devices.net", i%7), shipped, ""
			loc, chassis := fmt.Sprintf("Hall %d, site %d", i%50, i%900), fmt.Sprintf("CH-%06d", k)
			meta = fmt.Sprintf(`{"chassisNumber":%q,"location":%q}`, chassis, loc)
			search = strings.ToLower(hub + "\n" + chassis + "\n" + loc)
			if i%30 == 0 {
				fleet, regHub, registered = records.FleetRegistered, hub, shipped
			}
			if _, err := audit.ExecContext(ctx, shipped, "ann@"+customer+".example", g, "hub "+hub, customer); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ins.ExecContext(ctx, g, "k-"+g, cert, "s-"+g, "2026-"+shipped[5:7], shipped, records.TimeText(start.AddDate(15, 0, 0)),
			state, customer, shipped, activated, fleet, hub, regHub, registered, checked, meta, search); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Copied into the database file at once, as a long-running one's journal is: left in the
	// write-ahead log, the 100,000 rows would make every read look them up there and the
	// portal's next write copy them back.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	return guids
}

package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/pgtest"
)

func TestCustomerHubs(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.AddCustomerHub(ctx, "acme", "hub-1.example.net", "op"); !errors.Is(err, ErrNotFound) {
			t.Errorf("hub for an unknown customer: %v", err)
		}
		for _, c := range []string{"acme", "other"} {
			if err := s.AddCustomer(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if hubs, err := s.CustomerHubs(ctx, "acme"); err != nil || len(hubs) != 0 {
			t.Errorf("hubs before any: %v %v", hubs, err)
		}
		for _, h := range []string{"hub-2.example.net", "hub-1.example.net"} {
			if err := s.AddCustomerHub(ctx, "acme", h, "op"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddCustomerHub(ctx, "acme", "hub-1.example.net", "op"); !errors.Is(err, ErrExists) {
			t.Errorf("the same hub twice: %v", err)
		}
		if err := s.AddCustomerHub(ctx, "other", "hub-1.example.net", "op"); err != nil {
			t.Errorf("another customer's hub of the same name: %v", err)
		}
		if hubs, _ := s.CustomerHubs(ctx, "acme"); strings.Join(hubs, ",") != "hub-1.example.net,hub-2.example.net" {
			t.Errorf("acme's hubs: %v", hubs)
		}
		if err := s.RemoveCustomerHub(ctx, "acme", "hub-2.example.net", "op"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveCustomerHub(ctx, "acme", "hub-2.example.net", "op"); !errors.Is(err, ErrNotFound) {
			t.Errorf("removing a hub not allowed: %v", err)
		}
		if hubs, _ := s.CustomerHubs(ctx, "acme"); strings.Join(hubs, ",") != "hub-1.example.net" {
			t.Errorf("acme's hubs after removal: %v", hubs)
		}
		if _, err := s.CustomerHubs(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("hubs of an unknown customer: %v", err)
		}
		trail, _, _ := s.CustomerAudit(ctx, "acme", 10, 0)
		if len(trail) != 3 || trail[0].Action != "hub-removed" || trail[0].Detail != "hub-2.example.net" || trail[0].Actor != "op" {
			t.Errorf("acme's trail: %+v", trail)
		}
	})
}

func TestFormDefinition(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_ = s.AddCustomer(ctx, "acme")
		if def, err := s.FormDefinition(ctx, "acme"); err != nil || def != "" {
			t.Errorf("before any form: %q %v", def, err)
		}
		for _, def := range []string{`{"fields":[]}`, `{"fields":[{"name":"a"}]}`} {
			if err := s.SetFormDefinition(ctx, "acme", def, "ann@acme.example", "fields: a", "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		if def, _ := s.FormDefinition(ctx, "acme"); def != `{"fields":[{"name":"a"}]}` {
			t.Errorf("saved form: %q", def)
		}
		if err := s.SetFormDefinition(ctx, "nobody", "{}", "x", "", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("form of an unknown customer: %v", err)
		}
	})
}

// addUser makes email a user of customer with role, through an invitation as the portal does.
func addUser(t *testing.T, s *Store, email, customer, role string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	_ = s.AddCustomer(ctx, customer)
	tok := "tok-" + email
	if err := s.AddInvite(ctx, &Invite{TokenSHA256: tok, Email: email, Customer: customer, Role: role, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvite(ctx, tok, "HASH", "192.0.2.1", now); err != nil {
		t.Fatal(err)
	}
}

func TestUsersRolesAndTheLastAdmin(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "ann@acme.example", "acme", RoleAdmin)
		addUser(t, s, "bob@acme.example", "acme", RoleActivator)
		addUser(t, s, "eve@globex.example", "globex", RoleAdmin)
		now := time.Now()
		for _, tok := range []string{"ses1", "ses2"} {
			if err := s.AddSession(ctx, &Session{IDSHA256: tok, Email: "bob@acme.example", FormToken: "f", CreatedAt: now, LastSeenAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddInviteFrom(ctx, &Invite{TokenSHA256: "p1", Email: "cy@acme.example", Customer: "acme", Role: RoleViewer, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, "ann@acme.example", "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		_ = s.AddInvite(ctx, &Invite{TokenSHA256: "p2", Email: "old@acme.example", Customer: "acme", Role: RoleViewer, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}, "op")

		users, err := s.Users(ctx, "acme")
		if err != nil || len(users) != 2 || users[0].Email != "ann@acme.example" || users[1].Role != RoleActivator {
			t.Errorf("acme's users: %+v %v", users, err)
		}
		pending, _ := s.PendingInvites(ctx, "acme", now)
		if len(pending) != 1 || pending[0].Email != "cy@acme.example" {
			t.Errorf("pending invitations (an expired one left out): %+v", pending)
		}

		if err := s.SetUserRole(ctx, "acme", "ann@acme.example", RoleActivator, "ann@acme.example", ""); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("demoting the last admin: %v", err)
		}
		if err := s.RemoveUser(ctx, "acme", "ann@acme.example", "ann@acme.example", ""); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("removing the last admin: %v", err)
		}
		if err := s.SetUserRole(ctx, "acme", "eve@globex.example", RoleViewer, "ann@acme.example", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("changing another organisation's user: %v", err)
		}
		if err := s.SetUserRole(ctx, "acme", "bob@acme.example", "root", "ann@acme.example", ""); err == nil {
			t.Error("an unknown role was set")
		}
		if err := s.SetUserRole(ctx, "acme", "bob@acme.example", RoleAdmin, "ann@acme.example", "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		// Two admins now: one may step down, then the other is the last again.
		if err := s.SetUserRole(ctx, "acme", "ann@acme.example", RoleViewer, "ann@acme.example", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveUser(ctx, "acme", "bob@acme.example", "ann@acme.example", ""); !errors.Is(err, ErrLastAdmin) {
			t.Errorf("removing the new last admin: %v", err)
		}

		if n, err := s.EndSessions(ctx, "acme", "bob@acme.example", "bob@acme.example", "192.0.2.9"); err != nil || n != 2 {
			t.Errorf("sign out everywhere: %d %v", n, err)
		}
		if _, err := s.Session(ctx, "ses1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a session after signing out everywhere: %v", err)
		}
		if _, err := s.EndSessions(ctx, "globex", "bob@acme.example", "eve@globex.example", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("another organisation signing bob out: %v", err)
		}

		_ = s.AddSession(ctx, &Session{IDSHA256: "ses3", Email: "ann@acme.example", FormToken: "f", CreatedAt: now, LastSeenAt: now})
		if err := s.RemoveUser(ctx, "acme", "ann@acme.example", "bob@acme.example", "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.User(ctx, "ann@acme.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a removed user: %v", err)
		}
		if _, err := s.Session(ctx, "ses3"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a removed user's session: %v", err)
		}

		trail, total, _ := s.CustomerAudit(ctx, "acme", 100, 0)
		var actions []string
		for _, e := range trail {
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, " "); got != "user-removed signed-out-everywhere role-changed role-changed user-invited user-invited password-set user-invited password-set user-invited" || total != len(trail) {
			t.Errorf("acme's trail, newest first: %s (%d)", got, total)
		}
		if trail[0].Address != "192.0.2.9" || trail[0].Actor != "bob@acme.example" || trail[0].Detail != "ann@acme.example (viewer)" {
			t.Errorf("the removal's line: %+v", trail[0])
		}
		if g, _, _ := s.CustomerAudit(ctx, "globex", 100, 0); len(g) != 2 {
			t.Errorf("globex's trail: %+v", g)
		}
	})
}

func TestCustomerAuditPages(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "ann@acme.example", "acme", RoleAdmin)
		for i := range 7 {
			if err := s.AuditFrom(ctx, "ann@acme.example", "signed-in", "", fmt.Sprint(i), "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.AuditFrom(ctx, "factory-op", "signed-in", "", "not acme's", "")
		page, total, err := s.CustomerAudit(ctx, "acme", 3, 3)
		if err != nil || total != 9 || len(page) != 3 || page[0].Detail != "3" || page[2].Detail != "1" {
			t.Errorf("second page of 3: %+v %d %v", page, total, err)
		}
	})
}

// TestMigration4GivesOldLinesTheirOrganisation: a database at schema 3, as the portal's first
// version left it, keeps its audit lines through migration 4, and a portal user's lines join
// the user's organisation's trail.
func TestMigration4GivesOldLinesTheirOrganisation(t *testing.T) {
	atVersion3 := func(t *testing.T, db *sql.DB) {
		t.Helper()
		stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`}
		for v := 1; v <= 3; v++ {
			stmts = append(stmts, migrations[v], fmt.Sprintf(`INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 'then')`, v))
		}
		stmts = append(stmts,
			`INSERT INTO customers (name, created_at) VALUES ('acme', '2026-01-01T00:00:00Z')`,
			`INSERT INTO portal_users (email, customer, role, password_hash, created_at) VALUES ('ann@acme.example', 'acme', 'admin', 'H', '2026-01-01T00:00:00Z')`,
			`INSERT INTO audit (at, actor, action, guid, detail, address) VALUES ('2026-01-02T00:00:00Z', 'ann@acme.example', 'signed-in', '', '', '192.0.2.1')`,
			`INSERT INTO audit (at, actor, action, guid, detail) VALUES ('2026-01-02T00:00:01Z', 'shipping', 'shipped', 'g', 'to acme')`)
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.Close()
	}
	check := func(t *testing.T, s *Store) {
		t.Helper()
		if v, _ := s.SchemaVersion(context.Background()); v != len(migrations)-1 {
			t.Errorf("schema version %d", v)
		}
		trail, total, err := s.CustomerAudit(context.Background(), "acme", 10, 0)
		if err != nil || total != 1 || trail[0].Actor != "ann@acme.example" || trail[0].Address != "192.0.2.1" {
			t.Errorf("acme's trail after migration: %+v %d %v", trail, total, err)
		}
		if g, _ := s.Audit(context.Background(), "g"); len(g) != 1 {
			t.Errorf("the factory's line: %+v", g)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DatabaseFile))
		if err != nil {
			t.Fatal(err)
		}
		atVersion3(t, db)
		s, err := OpenSQLite(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		u := pgtest.URL(t)
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		atVersion3(t, db)
		s, err := OpenPostgres(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, s)
	})
}

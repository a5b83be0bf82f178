package records

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// backends opens a fresh store on each database the factory supports.
func backends(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := OpenSQLite(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := OpenPostgres(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
}

func board(guid, key string) *Board {
	now := time.Now().UTC().Truncate(time.Second)
	return &Board{GUID: guid, KeySHA256: key, Certificate: "CERT-" + key, Chain: "CHAIN", Serial: "s-" + key,
		Station: "st1", Line: "L4", Batch: "B7", IssuedAt: now, NotAfter: now.AddDate(10, 0, 0)}
}

const g1 = "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"

func TestBoardAndOutboxInOneTransaction(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
			t.Fatal(err)
		}
		got, err := s.Board(ctx, g1)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateCertified || got.KeySHA256 != "k1" || got.Line != "L4" || got.IssuedAt.IsZero() {
			t.Errorf("board = %+v", got)
		}
		pending, err := s.Enrollments(ctx, OutboxPending)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 1 || pending[0].GUID != g1 || pending[0].Certificate != "CERT-k1" || pending[0].Batch != "B7" {
			t.Fatalf("pending = %+v", pending)
		}
		if err := s.AddBoard(ctx, board(g1, "k2")); !errors.Is(err, ErrExists) {
			t.Fatalf("second AddBoard: %v, want ErrExists", err)
		}
		if got, _ := s.Board(ctx, g1); got.KeySHA256 != "k1" {
			t.Errorf("second AddBoard changed the board: %+v", got)
		}
	})
}

func TestOutboxAttemptsAndFinish(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Attempted(ctx, g1, "CERT-k1", errors.New("503")); err != nil {
			t.Fatal(err)
		}
		e, _ := s.Enrollments(ctx, OutboxPending)
		if len(e) != 1 || e[0].Attempts != 1 || e[0].LastError != "503" {
			t.Fatalf("after a failed attempt: %+v", e)
		}
		// A finish for a certificate that is no longer the board's is ignored.
		if err := s.Finish(ctx, g1, "CERT-old", nil); err != nil {
			t.Fatal(err)
		}
		if b, _ := s.Board(ctx, g1); b.State != StateCertified {
			t.Errorf("stale finish changed the board to %s", b.State)
		}
		if err := s.Finish(ctx, g1, "CERT-k1", nil); err != nil {
			t.Fatal(err)
		}
		if b, _ := s.Board(ctx, g1); b.State != StatePreEnrolled {
			t.Errorf("board state = %s, want %s", b.State, StatePreEnrolled)
		}
		if e, _ := s.Enrollments(ctx, OutboxPending); len(e) != 0 {
			t.Errorf("still pending: %+v", e)
		}
	})
}

func TestReissueNeedsPermissionAndIsAudited(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Reissue(ctx, board(g1, "k2"), "station st1", false); err == nil {
			t.Fatal("reissue without permission succeeded")
		}
		if err := s.AllowReissue(ctx, "1b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b", "op", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("allow reissue of an unknown board: %v", err)
		}
		if err := s.AllowReissue(ctx, g1, "alice", "board replaced"); err != nil {
			t.Fatal(err)
		}
		if err := s.Reissue(ctx, board(g1, "k2"), "station st1", false); err != nil {
			t.Fatal(err)
		}
		b, _ := s.Board(ctx, g1)
		if b.KeySHA256 != "k2" || b.Reissue {
			t.Errorf("after reissue: %+v", b)
		}
		e, _ := s.Enrollments(ctx, OutboxPending)
		if len(e) != 1 || !e[0].Replace || e[0].Certificate != "CERT-k2" {
			t.Errorf("outbox after reissue: %+v", e)
		}
		a, err := s.Audit(ctx, g1)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 2 || a[0].Action != "reissue-allowed" || a[0].Actor != "alice" || a[1].Action != "reissued" {
			t.Errorf("audit = %+v", a)
		}
	})
}

func TestStationsAndShipping(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.AddStation(ctx, "st1", "tokhash", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.AddStation(ctx, "st2", "", "certhash"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddStation(ctx, "st1", "other", ""); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate station: %v", err)
		}
		if n, err := s.StationByToken(ctx, "tokhash"); err != nil || n != "st1" {
			t.Errorf("by token: %q %v", n, err)
		}
		if n, err := s.StationByCertificate(ctx, "certhash"); err != nil || n != "st2" {
			t.Errorf("by certificate: %q %v", n, err)
		}
		if _, err := s.StationByToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown token: %v", err)
		}
		if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Ship(ctx, "acme", []string{g1}, "op"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ship to unknown customer: %v", err)
		}
		if err := s.AddCustomer(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCustomer(ctx, "other"); err != nil {
			t.Fatal(err)
		}
		// All or nothing: an unknown GUID in the list ships nothing.
		if err := s.Ship(ctx, "acme", []string{g1, "ffffffff-3f4d-4e5f-8a9b-0c1d2e3f4a5b"}, "op"); err == nil {
			t.Fatal("shipping an unknown board succeeded")
		}
		if b, _ := s.Board(ctx, g1); b.Customer != "" {
			t.Errorf("a failed shipment shipped %s", b.GUID)
		}
		if err := s.Ship(ctx, "acme", []string{g1}, "op"); err != nil {
			t.Fatal(err)
		}
		if b, _ := s.Board(ctx, g1); b.Customer != "acme" || b.ShippedAt.IsZero() {
			t.Errorf("after shipping: %+v", b)
		}
		if err := s.Ship(ctx, "other", []string{g1}, "op"); !errors.Is(err, ErrExists) {
			t.Errorf("shipping to a second customer: %v", err)
		}
	})
}

func TestMigrationsReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != len(migrations)-1 {
		t.Errorf("schema version %d", v)
	}
	if _, err := s.Board(ctx, g1); err != nil {
		t.Errorf("board lost on reopen: %v", err)
	}
	if _, err := s.db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'x')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(ctx, dir); err == nil {
		t.Error("a database from a newer program opened")
	}
}

func TestConcurrentAddOneWins(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.AddBoard(ctx, board(g1, "k"))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("%d concurrent adds of one board succeeded, want 1: %v", ok, errs)
		}
	})
}

func TestActivationCodesAndBatches(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.SetActivationCode(ctx, g1, "h1", "op"); !errors.Is(err, ErrNotFound) {
			t.Errorf("code for an unknown board: %v", err)
		}
		if err := s.AddBoard(ctx, board(g1, "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActivationCode(ctx, g1, "h1", "op"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActivationCode(ctx, g1, "h2", "op"); err != nil {
			t.Fatal(err)
		}
		if h, err := s.ActivationCode(ctx, g1); err != nil || h != "h2" {
			t.Errorf("a reprinted label left code %q (%v), want the new one", h, err)
		}
		if g, err := s.BatchGUIDs(ctx, "B7"); err != nil || len(g) != 1 || g[0] != g1 {
			t.Errorf("batch B7: %v %v", g, err)
		}
		if g, _ := s.BatchGUIDs(ctx, "other"); len(g) != 0 {
			t.Errorf("batch other: %v", g)
		}
	})
}

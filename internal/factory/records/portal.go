package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Portal roles, least to most.
const (
	RoleViewer    = "viewer"    // sees the organisation's boards
	RoleActivator = "activator" // and activates them
	RoleAdmin     = "admin"     // and manages the organisation's users, form and audit trail
)

// ValidRole reports whether r is one of the portal's roles.
func ValidRole(r string) bool { return r == RoleViewer || r == RoleActivator || r == RoleAdmin }

// ErrInviteUsed means the invitation was used already or has expired.
var ErrInviteUsed = errors.New("records: the invitation was used already or has expired")

// User is a person of a customer organisation who signs in to the portal.
type User struct {
	Email        string
	Customer     string
	Role         string
	PasswordHash string
	CreatedAt    time.Time
}

// Invite is a one-time invitation to set a password, stored by the SHA-256 of its token.
type Invite struct {
	TokenSHA256 string
	Email       string
	Customer    string
	Role        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Session is a signed-in browser, stored by the SHA-256 of its cookie's ID.
type Session struct {
	IDSHA256   string
	Email      string
	FormToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// AddInvite records an invitation for a user of an existing customer, audited.
func (s *Store) AddInvite(ctx context.Context, inv *Invite, actor string) error {
	return s.AddInviteFrom(ctx, inv, actor, "")
}

// AddInviteFrom is AddInvite audited with the address the invitation came from.
func (s *Store) AddInviteFrom(ctx context.Context, inv *Invite, actor, address string) error {
	if !ValidRole(inv.Role) {
		return fmt.Errorf("records: role %q is not viewer, activator or admin", inv.Role)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM customers WHERE name = ?`), inv.Customer).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: customer %s: add it with `oob-factory customer add`", ErrNotFound, inv.Customer)
		}
		var other string
		err := tx.QueryRowContext(ctx, s.q(`SELECT customer FROM portal_users WHERE email = ?`), inv.Email).Scan(&other)
		if err == nil && other != inv.Customer {
			return fmt.Errorf("%w: %s is a user of %s", ErrExists, inv.Email, other)
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("records: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portal_invites (token_sha256, email, customer, role, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, NULL)`),
			inv.TokenSHA256, inv.Email, inv.Customer, inv.Role, ts(inv.CreatedAt), ts(inv.ExpiresAt)); err != nil {
			return fmt.Errorf("records: invite: %w", err)
		}
		return s.auditFor(ctx, tx, inv.Customer, actor, "user-invited", "", fmt.Sprintf("%s as %s of %s", inv.Email, inv.Role, inv.Customer), address)
	})
}

// PendingInvite returns the unused, unexpired invitation with the token hash, or ErrInviteUsed.
func (s *Store) PendingInvite(ctx context.Context, tokenSHA256 string, now time.Time) (*Invite, error) {
	return s.pendingInvite(ctx, s.db, tokenSHA256, now)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) pendingInvite(ctx context.Context, db queryer, tokenSHA256 string, now time.Time) (*Invite, error) {
	var inv Invite
	var created, expires string
	var used sql.NullString
	err := db.QueryRowContext(ctx, s.q(`SELECT token_sha256, email, customer, role, created_at, expires_at, used_at FROM portal_invites WHERE token_sha256 = ?`),
		tokenSHA256).Scan(&inv.TokenSHA256, &inv.Email, &inv.Customer, &inv.Role, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInviteUsed
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	inv.CreatedAt, inv.ExpiresAt = parseTS(created), parseTS(expires)
	if used.Valid || !now.Before(inv.ExpiresAt) {
		return nil, ErrInviteUsed
	}
	return &inv, nil
}

// AcceptInvite spends the invitation and makes (or, for a user invited again, updates) its user
// with passwordHash, in one transaction, audited with the client's address.
func (s *Store) AcceptInvite(ctx context.Context, tokenSHA256, passwordHash, address string, now time.Time) (*User, error) {
	var u *User
	err := s.tx(ctx, func(tx *sql.Tx) error {
		inv, err := s.pendingInvite(ctx, tx, tokenSHA256, now)
		if err != nil {
			return err
		}
		// The condition on used_at makes a second, concurrent acceptance update nothing.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE portal_invites SET used_at = ? WHERE token_sha256 = ? AND used_at IS NULL`), ts(now), tokenSHA256)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrInviteUsed
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portal_users (email, customer, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (email) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash`),
			inv.Email, inv.Customer, inv.Role, passwordHash, ts(now)); err != nil {
			return fmt.Errorf("records: user: %w", err)
		}
		u = &User{Email: inv.Email, Customer: inv.Customer, Role: inv.Role, PasswordHash: passwordHash, CreatedAt: now}
		return s.auditFrom(ctx, tx, inv.Email, "password-set", "", "invitation accepted as "+inv.Role+" of "+inv.Customer, address)
	})
	return u, err
}

// User returns the user with email, or ErrNotFound.
func (s *Store) User(ctx context.Context, email string) (*User, error) {
	var u User
	var created string
	err := s.rd.QueryRowContext(ctx, s.q(`SELECT email, customer, role, password_hash, created_at FROM portal_users WHERE email = ?`), email).
		Scan(&u.Email, &u.Customer, &u.Role, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	u.CreatedAt = parseTS(created)
	return &u, nil
}

// AddSession records a signed-in session.
func (s *Store) AddSession(ctx context.Context, ses *Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO portal_sessions (id_sha256, email, form_token, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`),
		ses.IDSHA256, ses.Email, ses.FormToken, ts(ses.CreatedAt), ts(ses.LastSeenAt))
	if err != nil {
		return fmt.Errorf("records: session: %w", err)
	}
	return nil
}

// Session returns the session with the ID hash, or ErrNotFound.
func (s *Store) Session(ctx context.Context, idSHA256 string) (*Session, error) {
	var ses Session
	var created, seen string
	err := s.rd.QueryRowContext(ctx, s.q(`SELECT id_sha256, email, form_token, created_at, last_seen_at FROM portal_sessions WHERE id_sha256 = ?`), idSHA256).
		Scan(&ses.IDSHA256, &ses.Email, &ses.FormToken, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	ses.CreatedAt, ses.LastSeenAt = parseTS(created), parseTS(seen)
	return &ses, nil
}

// TouchSession records that the session was used at t.
func (s *Store) TouchSession(ctx context.Context, idSHA256 string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE portal_sessions SET last_seen_at = ? WHERE id_sha256 = ?`), ts(t), idSHA256); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// DeleteSession ends a session; ending one that is gone is not an error.
func (s *Store) DeleteSession(ctx context.Context, idSHA256 string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM portal_sessions WHERE id_sha256 = ?`), idSHA256); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// CustomerBoards returns one page of the boards shipped to customer, newest shipment first, and
// how many there are in all.
func (s *Store) CustomerBoards(ctx context.Context, customer string, limit, offset int) ([]Board, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM boards WHERE customer = ?`), customer).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("records: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+boardCols+` FROM boards WHERE customer = ? ORDER BY shipped_at DESC, guid LIMIT ? OFFSET ?`),
		customer, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []Board
	for rows.Next() {
		b, err := scanBoard(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *b)
	}
	return out, total, rows.Err()
}

// AuditFrom adds a line to the audit trail with the address the change came from.
func (s *Store) AuditFrom(ctx context.Context, actor, action, guid, detail, address string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.auditFrom(ctx, tx, actor, action, guid, detail, address) })
}

// BoardQuery selects a page of a customer's boards, newest shipment first (then by GUID), after
// the board the previous page ended with.
type BoardQuery struct {
	Customer string
	// Activated, when set, keeps only activated boards (true) or only those not yet activated.
	Activated *bool
	// Deactivated, when set, keeps only boards deactivated since their activation (true) or
	// only the others.
	Deactivated *bool
	// After is the last board of the previous page; nil starts at the newest.
	After *Board
	Limit int
}

// CustomerBoardsAfter returns the page of boards q selects: keyset paging, so that boards
// shipped meanwhile neither repeat nor shift a later page.
func (s *Store) CustomerBoardsAfter(ctx context.Context, q BoardQuery) ([]FleetBoard, error) {
	where, args := `customer = ?`, []any{q.Customer}
	if q.Activated != nil {
		op := `<>`
		if *q.Activated {
			op = `=`
		}
		where += ` AND state ` + op + ` ?`
		args = append(args, StateActivated)
	}
	if q.Deactivated != nil {
		op := `<>`
		if *q.Deactivated {
			op = `=`
		}
		where += ` AND fleet_state ` + op + ` ?`
		args = append(args, FleetDeactivated)
	}
	if q.After != nil {
		at := ts(q.After.ShippedAt)
		where += ` AND (shipped_at < ? OR (shipped_at = ? AND guid > ?))`
		args = append(args, at, at, q.After.GUID)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+fleetCols+` FROM boards WHERE `+where+` ORDER BY shipped_at DESC, guid LIMIT ?`), append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []FleetBoard
	for rows.Next() {
		b, err := scanFleetBoard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

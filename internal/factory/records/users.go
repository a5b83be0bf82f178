package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrLastAdmin means the change would leave an organisation without an administrator.
var ErrLastAdmin = errors.New("records: that is the organisation's last administrator; make another user admin first")

// Users returns customer's users, by e-mail address.
func (s *Store) Users(ctx context.Context, customer string) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT email, customer, role, password_hash, created_at FROM portal_users WHERE customer = ? ORDER BY email`), customer)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created string
		if err := rows.Scan(&u.Email, &u.Customer, &u.Role, &u.PasswordHash, &created); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		u.CreatedAt = parseTS(created)
		out = append(out, u)
	}
	return out, rows.Err()
}

// PendingInvites returns customer's invitations neither used nor expired at now, newest first.
func (s *Store) PendingInvites(ctx context.Context, customer string, now time.Time) ([]Invite, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT token_sha256, email, customer, role, created_at, expires_at FROM portal_invites
WHERE customer = ? AND used_at IS NULL AND expires_at > ? ORDER BY created_at DESC`), customer, ts(now))
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []Invite
	for rows.Next() {
		var inv Invite
		var created, expires string
		if err := rows.Scan(&inv.TokenSHA256, &inv.Email, &inv.Customer, &inv.Role, &created, &expires); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		inv.CreatedAt, inv.ExpiresAt = parseTS(created), parseTS(expires)
		// Times stored with fractions of varying width do not compare as text.
		if inv.ExpiresAt.After(now) {
			out = append(out, inv)
		}
	}
	return out, rows.Err()
}

// member returns customer's user email within tx, or ErrNotFound (a user of another
// organisation is not found either). The organisation's administrators are locked first, so
// that two changes at once cannot both remove "the other" admin.
func (s *Store) member(ctx context.Context, tx *sql.Tx, customer, email string) (role string, admins int, err error) {
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT email FROM portal_users WHERE customer = ? AND role = ?`+lock), customer, RoleAdmin)
	if err != nil {
		return "", 0, fmt.Errorf("records: %w", err)
	}
	for rows.Next() {
		admins++
	}
	rows.Close()
	err = tx.QueryRowContext(ctx, s.q(`SELECT role FROM portal_users WHERE customer = ? AND email = ?`), customer, email).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, fmt.Errorf("%w: %s is not a user of %s", ErrNotFound, email, customer)
	}
	if err != nil {
		return "", 0, fmt.Errorf("records: %w", err)
	}
	return role, admins, nil
}

// SetUserRole gives customer's user email the role, audited. ErrLastAdmin when that would
// demote the last administrator; ErrNotFound for someone not of customer.
func (s *Store) SetUserRole(ctx context.Context, customer, email, role, actor, address string) error {
	if !ValidRole(role) {
		return fmt.Errorf("records: role %q is not viewer, activator or admin", role)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, admins, err := s.member(ctx, tx, customer, email)
		if err != nil {
			return err
		}
		if old == role {
			return nil
		}
		if old == RoleAdmin && admins <= 1 {
			return ErrLastAdmin
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE portal_users SET role = ? WHERE email = ?`), role, email); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		return s.auditFor(ctx, tx, customer, actor, "role-changed", "", fmt.Sprintf("%s from %s to %s", email, old, role), address)
	})
}

// RemoveUser removes customer's user email, ends their sessions and withdraws their pending
// invitations, audited. ErrLastAdmin for the last administrator.
func (s *Store) RemoveUser(ctx context.Context, customer, email, actor, address string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		role, admins, err := s.member(ctx, tx, customer, email)
		if err != nil {
			return err
		}
		if role == RoleAdmin && admins <= 1 {
			return ErrLastAdmin
		}
		for _, q := range []string{
			`DELETE FROM portal_sessions WHERE email = ?`,
			`DELETE FROM portal_invites WHERE email = ? AND used_at IS NULL`,
			`DELETE FROM portal_users WHERE email = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), email); err != nil {
				return fmt.Errorf("records: %w", err)
			}
		}
		return s.auditFor(ctx, tx, customer, actor, "user-removed", "", email+" ("+role+")", address)
	})
}

// EndSessions signs customer's user email out of every browser, audited; it returns how many
// sessions ended.
func (s *Store) EndSessions(ctx context.Context, customer, email, actor, address string) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.member(ctx, tx, customer, email); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM portal_sessions WHERE email = ?`), email)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		n, _ = res.RowsAffected()
		return s.auditFor(ctx, tx, customer, actor, "signed-out-everywhere", "", fmt.Sprintf("%s: %d sessions ended", email, n), address)
	})
	return int(n), err
}

// CustomerAudit returns one page of customer's audit trail, newest first, and how many lines
// there are in all.
func (s *Store) CustomerAudit(ctx context.Context, customer string, limit, offset int) ([]AuditEntry, int, error) {
	var total int
	if err := s.rd.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM audit WHERE customer = ?`), customer).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("records: %w", err)
	}
	lines, err := s.auditLines(ctx, `WHERE customer = ? ORDER BY at DESC LIMIT ? OFFSET ?`, customer, limit, offset)
	return lines, total, err
}

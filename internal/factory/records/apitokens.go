package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// APIToken is a customer organisation's credential for the portal's JSON API, stored by the
// SHA-256 of its secret. Its role is RoleViewer or RoleActivator.
type APIToken struct {
	ID          string    `json:"id"`
	TokenSHA256 string    `json:"-"`
	Customer    string    `json:"customer"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdAt"`
	LastUsedAt  time.Time `json:"lastUsedAt,omitzero"`
	RevokedAt   time.Time `json:"revokedAt,omitzero"`
}

// ValidTokenRole reports whether r is a role an API token may have: viewer or activator.
func ValidTokenRole(r string) bool { return r == RoleViewer || r == RoleActivator }

const apiTokenCols = `id, token_sha256, customer, name, role, created_by, created_at, last_used_at, revoked_at`

func scanAPIToken(row interface{ Scan(...any) error }) (*APIToken, error) {
	var t APIToken
	var created string
	var used, revoked sql.NullString
	err := row.Scan(&t.ID, &t.TokenSHA256, &t.Customer, &t.Name, &t.Role, &t.CreatedBy, &created, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = parseTS(created), nullTS(used), nullTS(revoked)
	return &t, nil
}

// AddAPIToken records a new API token of an existing customer (ErrNotFound otherwise), audited
// in the customer's trail with t.CreatedBy as the actor.
func (s *Store) AddAPIToken(ctx context.Context, t *APIToken) error {
	return s.AddAPITokenFrom(ctx, t, "")
}

// AddAPITokenFrom is AddAPIToken for a request from address (a portal user's browser).
func (s *Store) AddAPITokenFrom(ctx context.Context, t *APIToken, address string) error {
	if !ValidTokenRole(t.Role) {
		return fmt.Errorf("records: an API token's role must be viewer or activator, not %q", t.Role)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM customers WHERE name = ?`), t.Customer).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: customer %s: add it with `oob-factory customer add`", ErrNotFound, t.Customer)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portal_api_tokens (`+apiTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)`),
			t.ID, t.TokenSHA256, t.Customer, t.Name, t.Role, t.CreatedBy, ts(t.CreatedAt)); err != nil {
			return fmt.Errorf("records: API token: %w", err)
		}
		return s.auditFor(ctx, tx, t.Customer, t.CreatedBy, "api-token-created", "", fmt.Sprintf("token %s %q as %s of %s", t.ID, t.Name, t.Role, t.Customer), address)
	})
}

// APITokenByHash returns the unrevoked token whose secret hashes to tokenSHA256, or ErrNotFound.
func (s *Store) APITokenByHash(ctx context.Context, tokenSHA256 string) (*APIToken, error) {
	return scanAPIToken(s.rd.QueryRowContext(ctx, s.q(`SELECT `+apiTokenCols+` FROM portal_api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL`), tokenSHA256))
}

// APITokens returns customer's tokens, revoked ones included, oldest first; every customer's
// when customer is "".
func (s *Store) APITokens(ctx context.Context, customer string) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+apiTokenCols+` FROM portal_api_tokens WHERE ? = '' OR customer = ? ORDER BY created_at, id`), customer, customer)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// RevokeAPIToken ends customer's token id at t, audited in the customer's trail; ErrNotFound
// when customer has no such token that is not revoked already.
func (s *Store) RevokeAPIToken(ctx context.Context, customer, id, actor string, t time.Time) error {
	return s.RevokeAPITokenFrom(ctx, customer, id, actor, "", t)
}

// RevokeAPITokenFrom is RevokeAPIToken for a request from address.
func (s *Store) RevokeAPITokenFrom(ctx context.Context, customer, id, actor, address string, t time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE portal_api_tokens SET revoked_at = ? WHERE id = ? AND customer = ? AND revoked_at IS NULL`), ts(t), id, customer)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: no unrevoked API token %s of %s", ErrNotFound, id, customer)
		}
		return s.auditFor(ctx, tx, customer, actor, "api-token-revoked", "", "token "+id+" of "+customer, address)
	})
}

// TouchAPIToken records that token id was used at t.
func (s *Store) TouchAPIToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE portal_api_tokens SET last_used_at = ? WHERE id = ?`), ts(t), id); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

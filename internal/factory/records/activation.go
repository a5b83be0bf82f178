package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SetActivationCode records the hash of a board's one-time activation code, replacing any
// earlier one (a reprinted label invalidates the old code), audited.
func (s *Store) SetActivationCode(ctx context.Context, guid, codeSHA256, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := scanBoard(tx.QueryRowContext(ctx, s.q(`SELECT `+boardCols+` FROM boards WHERE guid = ?`), guid)); err != nil {
			return fmt.Errorf("board %s: %w", guid, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM activation_codes WHERE guid = ?`), guid); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO activation_codes (guid, code_sha256, created_at) VALUES (?, ?, ?)`),
			guid, codeSHA256, ts(time.Now())); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		return s.audit(ctx, tx, actor, "label", guid, "new activation code")
	})
}

// ActivationCode returns the hash of guid's activation code, or ErrNotFound.
func (s *Store) ActivationCode(ctx context.Context, guid string) (string, error) {
	var h string
	err := s.rd.QueryRowContext(ctx, s.q(`SELECT code_sha256 FROM activation_codes WHERE guid = ?`), guid).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("records: %w", err)
	}
	return h, nil
}

// BatchGUIDs returns the GUIDs of the boards in batch, oldest first.
func (s *Store) BatchGUIDs(ctx context.Context, batch string) ([]string, error) {
	return s.column(ctx, `SELECT guid FROM boards WHERE batch = ? ORDER BY issued_at, guid`, batch)
}

// column returns the one text column query selects, row by row.
func (s *Store) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

package records

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Outbox states.
const (
	OutboxPending = "pending"
	OutboxDone    = "done"
	OutboxFailed  = "failed"
)

// Enrollment is a board's enrollment as the outbox holds it.
type Enrollment struct {
	GUID        string    `json:"guid"`
	Certificate string    `json:"-"`
	Replace     bool      `json:"replace,omitempty"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// Board's fields the enrollment's tags carry.
	Line     string    `json:"line,omitempty"`
	Batch    string    `json:"batch,omitempty"`
	IssuedAt time.Time `json:"issuedAt"`
}

// Enrollments returns the outbox's entries in state (all when empty), oldest first.
func (s *Store) Enrollments(ctx context.Context, state string) ([]Enrollment, error) {
	q := `SELECT o.guid, o.certificate, o.replace_ok, o.state, o.attempts, o.last_error, o.created_at, o.updated_at, b.line, b.batch, b.issued_at
		FROM outbox o JOIN boards b ON b.guid = o.guid`
	var args []any
	if state != "" {
		q += ` WHERE o.state = ?`
		args = append(args, state)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` ORDER BY o.created_at, o.guid`), args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []Enrollment
	for rows.Next() {
		var e Enrollment
		var r int
		var c, u, i string
		if err := rows.Scan(&e.GUID, &e.Certificate, &r, &e.State, &e.Attempts, &e.LastError, &c, &u, &e.Line, &e.Batch, &i); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		e.Replace, e.CreatedAt, e.UpdatedAt, e.IssuedAt = r != 0, parseTS(c), parseTS(u), parseTS(i)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Attempted records a failed attempt that will be retried.
func (s *Store) Attempted(ctx context.Context, guid, cert string, cause error) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ? WHERE guid = ? AND certificate = ? AND state = ?`),
		cause.Error(), ts(time.Now()), guid, cert, OutboxPending)
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// Finish marks the enrollment for cert done (the board pre-enrolled) or, with cause set, failed
// for good. An entry whose certificate has since been re-issued is left alone.
func (s *Store) Finish(ctx context.Context, guid, cert string, cause error) error {
	state, boardState, msg := OutboxDone, StatePreEnrolled, ""
	if cause != nil {
		state, boardState, msg = OutboxFailed, StateFailed, cause.Error()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE guid = ? AND certificate = ? AND state = ?`),
			state, msg, ts(time.Now()), guid, cert, OutboxPending)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE boards SET state = ? WHERE guid = ? AND certificate = ?`), boardState, guid, cert); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		return nil
	})
}

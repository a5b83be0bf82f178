package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Board states.
const (
	StateCertified   = "certified"    // certificate issued, enrollment waiting in the outbox
	StatePreEnrolled = "pre-enrolled" // DPS holds its disabled enrollment
	StateFailed      = "failed"       // the enrollment could not be made; see the outbox's error
	StateActivated   = "activated"    // the customer enabled its enrollment through the portal
)

// Board is one certified board.
type Board struct {
	GUID        string    `json:"guid"`
	KeySHA256   string    `json:"keySha256"`
	Certificate string    `json:"-"` // the leaf, PEM
	Chain       string    `json:"-"` // the intermediate and root, PEM
	Serial      string    `json:"serial"`
	Station     string    `json:"station"`
	Line        string    `json:"line,omitempty"`
	Batch       string    `json:"batch,omitempty"`
	IssuedAt    time.Time `json:"issuedAt"`
	NotAfter    time.Time `json:"notAfter"`
	State       string    `json:"state"`
	Reissue     bool      `json:"reissueAllowed,omitempty"`
	Customer    string    `json:"customer,omitempty"`
	ShippedAt   time.Time `json:"shippedAt,omitzero"`
	ActivatedAt time.Time `json:"activatedAt,omitzero"`
}

const boardCols = `guid, key_sha256, certificate, chain, serial, station, line, batch, issued_at, not_after, state, reissue, customer, shipped_at, activated_at`

func scanBoard(row interface{ Scan(...any) error }) (*Board, error) {
	var b Board
	var issued, notAfter string
	var reissue int
	var customer, shipped, activated sql.NullString
	err := row.Scan(&b.GUID, &b.KeySHA256, &b.Certificate, &b.Chain, &b.Serial, &b.Station, &b.Line, &b.Batch,
		&issued, &notAfter, &b.State, &reissue, &customer, &shipped, &activated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	b.IssuedAt, b.NotAfter, b.Reissue = parseTS(issued), parseTS(notAfter), reissue != 0
	b.Customer, b.ShippedAt, b.ActivatedAt = customer.String, nullTS(shipped), nullTS(activated)
	return &b, nil
}

// Board returns the board guid, or ErrNotFound.
func (s *Store) Board(ctx context.Context, guid string) (*Board, error) {
	return scanBoard(s.rd.QueryRowContext(ctx, s.q(`SELECT `+boardCols+` FROM boards WHERE guid = ?`), guid))
}

// Boards returns every board, oldest first.
func (s *Store) Boards(ctx context.Context) ([]Board, error) {
	return s.queryBoards(ctx, `SELECT `+boardCols+` FROM boards ORDER BY issued_at, guid`)
}

// queryBoards returns the boards query (selecting boardCols) finds with args.
func (s *Store) queryBoards(ctx context.Context, query string, args ...any) ([]Board, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []Board
	for rows.Next() {
		b, err := scanBoard(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *b)
	}
	return out, rows.Err()
}

// AddBoard records a newly certified board and its pending enrollment in one transaction, so that
// a board is never certified without its enrollment queued. It fails with ErrExists when the GUID
// is already recorded.
func (s *Store) AddBoard(ctx context.Context, b *Board) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		b.State = StateCertified
		// ON CONFLICT DO NOTHING (SQLite and PostgreSQL alike) makes a concurrent second insert
		// of the same GUID a clean "exists" rather than a constraint error.
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO boards (`+boardCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL) ON CONFLICT (guid) DO NOTHING`),
			b.GUID, b.KeySHA256, b.Certificate, b.Chain, b.Serial, b.Station, b.Line, b.Batch, ts(b.IssuedAt), ts(b.NotAfter), b.State)
		if err != nil {
			return fmt.Errorf("records: add board: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: board %s", ErrExists, b.GUID)
		}
		return s.queue(ctx, tx, b, false)
	})
}

func (s *Store) queue(ctx context.Context, tx *sql.Tx, b *Board, replace bool) error {
	now := ts(time.Now())
	r := 0
	if replace {
		r = 1
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM outbox WHERE guid = ?`), b.GUID); err != nil {
		return fmt.Errorf("records: outbox: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO outbox (guid, certificate, replace_ok, state, attempts, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, 0, '', ?, ?)`),
		b.GUID, b.Certificate, r, OutboxPending, now, now); err != nil {
		return fmt.Errorf("records: outbox: %w", err)
	}
	return nil
}

// AllowReissue lets the next request for guid carry another key; actor and reason go to the audit
// trail.
func (s *Store) AllowReissue(ctx context.Context, guid, actor, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE boards SET reissue = 1 WHERE guid = ?`), guid)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: board %s", ErrNotFound, guid)
		}
		return s.audit(ctx, tx, actor, "reissue-allowed", guid, reason)
	})
}

// Reissue replaces a board's certificate (allowed by AllowReissue, or forced by an operator) and
// queues its enrollment to be replaced in DPS, in one transaction, audited.
func (s *Store) Reissue(ctx context.Context, b *Board, actor string, force bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanBoard(tx.QueryRowContext(ctx, s.q(`SELECT `+boardCols+` FROM boards WHERE guid = ?`), b.GUID))
		if err != nil {
			return err
		}
		if !old.Reissue && !force {
			return fmt.Errorf("records: board %s: re-issue was not allowed", b.GUID)
		}
		b.State = StateCertified
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE boards SET key_sha256 = ?, certificate = ?, chain = ?, serial = ?, station = ?, issued_at = ?, not_after = ?, state = ?, reissue = 0 WHERE guid = ?`),
			b.KeySHA256, b.Certificate, b.Chain, b.Serial, b.Station, ts(b.IssuedAt), ts(b.NotAfter), b.State, b.GUID); err != nil {
			return fmt.Errorf("records: reissue: %w", err)
		}
		if err := s.audit(ctx, tx, actor, "reissued", b.GUID, fmt.Sprintf("serial %s replaced by %s", old.Serial, b.Serial)); err != nil {
			return err
		}
		return s.queue(ctx, tx, b, true)
	})
}

// AuditEntry is one line of the audit trail.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	GUID   string    `json:"guid"`
	Detail string    `json:"detail"`
	// Address is where the change came from (the portal's client address), when known.
	Address string `json:"address,omitempty"`
}

func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor, action, guid, detail string) error {
	return s.auditFrom(ctx, tx, actor, action, guid, detail, "")
}

func (s *Store) auditFrom(ctx context.Context, tx *sql.Tx, actor, action, guid, detail, address string) error {
	return s.auditFor(ctx, tx, "", actor, action, guid, detail, address)
}

// auditFor adds a line to the audit trail of customer's organisation; with customer empty, the
// actor's organisation when the actor is a portal user (else none).
func (s *Store) auditFor(ctx context.Context, tx *sql.Tx, customer, actor, action, guid, detail, address string) error {
	if customer == "" {
		err := tx.QueryRowContext(ctx, s.q(`SELECT customer FROM portal_users WHERE email = ?`), actor).Scan(&customer)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("records: audit: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit (at, actor, action, guid, detail, address, customer) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		ts(time.Now()), actor, action, guid, detail, address, customer); err != nil {
		return fmt.Errorf("records: audit: %w", err)
	}
	return nil
}

// Audit returns the audit trail of guid, oldest first.
func (s *Store) Audit(ctx context.Context, guid string) ([]AuditEntry, error) {
	return s.auditLines(ctx, `WHERE guid = ? ORDER BY at`, guid)
}

// auditLines returns the audit lines that the SQL after FROM audit selects.
func (s *Store) auditLines(ctx context.Context, where string, args ...any) ([]AuditEntry, error) {
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT at, actor, action, guid, detail, address FROM audit `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.GUID, &e.Detail, &e.Address); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		e.At = parseTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

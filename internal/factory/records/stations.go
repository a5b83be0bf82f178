package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AddStation records a station that authenticates with the token whose SHA-256 is tokenSHA256
// (hex) or the client certificate whose SHA-256 is certSHA256; either may be empty.
func (s *Store) AddStation(ctx context.Context, name, tokenSHA256, certSHA256 string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM stations WHERE name = ?`), name).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: station %s", ErrExists, name)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO stations (name, token_sha256, cert_sha256, created_at) VALUES (?, ?, ?, ?)`),
			name, nullable(tokenSHA256), nullable(certSHA256), ts(time.Now()))
		if err != nil {
			return fmt.Errorf("records: add station: %w", err)
		}
		return nil
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// StationByToken returns the name of the station whose token hashes to tokenSHA256, or
// ErrNotFound.
func (s *Store) StationByToken(ctx context.Context, tokenSHA256 string) (string, error) {
	return s.station(ctx, `token_sha256`, tokenSHA256)
}

// StationByCertificate returns the name of the station whose client certificate hashes to
// certSHA256, or ErrNotFound.
func (s *Store) StationByCertificate(ctx context.Context, certSHA256 string) (string, error) {
	return s.station(ctx, `cert_sha256`, certSHA256)
}

func (s *Store) station(ctx context.Context, col, v string) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT name FROM stations WHERE `+col+` = ?`), v).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("records: %w", err)
	}
	return name, nil
}

// AddCustomer records a customer.
func (s *Store) AddCustomer(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM customers WHERE name = ?`), name).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: customer %s", ErrExists, name)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO customers (name, created_at) VALUES (?, ?)`), name, ts(time.Now())); err != nil {
			return fmt.Errorf("records: add customer: %w", err)
		}
		return nil
	})
}

// Ship records boards as shipped to customer, all or none. A board already shipped to another
// customer is refused with ErrExists.
func (s *Store) Ship(ctx context.Context, customer string, guids []string, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM customers WHERE name = ?`), customer).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: customer %s: add it with `oob-factory customer add`", ErrNotFound, customer)
		}
		now := ts(time.Now())
		for _, g := range guids {
			b, err := scanBoard(tx.QueryRowContext(ctx, s.q(`SELECT `+boardCols+` FROM boards WHERE guid = ?`), g))
			if err != nil {
				return fmt.Errorf("board %s: %w", g, err)
			}
			if b.Customer != "" && b.Customer != customer {
				return fmt.Errorf("%w: board %s was shipped to %s", ErrExists, g, b.Customer)
			}
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE boards SET customer = ?, shipped_at = ? WHERE guid = ?`), customer, now, g); err != nil {
				return fmt.Errorf("records: ship: %w", err)
			}
			if err := s.audit(ctx, tx, actor, "shipped", g, "to "+customer); err != nil {
				return err
			}
		}
		return nil
	})
}

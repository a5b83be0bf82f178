package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// customerExists returns ErrNotFound, saying how to add it, for a customer not recorded.
func (s *Store) customerExists(ctx context.Context, db queryer, customer string) error {
	var n int
	if err := db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM customers WHERE name = ?`), customer).Scan(&n); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: customer %s: add it with `oob-factory customer add`", ErrNotFound, customer)
	}
	return nil
}

// AddCustomerHub allows customer's boards to be sent to the IoT hub hostname (checked by the
// caller), audited in the customer's trail. ErrNotFound for an unknown customer, ErrExists for a
// hub allowed already.
func (s *Store) AddCustomerHub(ctx context.Context, customer, hostname, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.customerExists(ctx, tx, customer); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM customer_hubs WHERE customer = ? AND hostname = ?`), customer, hostname).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w: hub %s is allowed for %s already", ErrExists, hostname, customer)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO customer_hubs (customer, hostname, created_at) VALUES (?, ?, ?)`), customer, hostname, ts(time.Now())); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		return s.auditFor(ctx, tx, customer, actor, "hub-allowed", "", hostname, "")
	})
}

// RemoveCustomerHub stops allowing the hub for customer's boards (boards activated already keep
// it), audited. ErrNotFound when it was not allowed.
func (s *Store) RemoveCustomerHub(ctx context.Context, customer, hostname, actor string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM customer_hubs WHERE customer = ? AND hostname = ?`), customer, hostname)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: hub %s is not allowed for %s (see `oob-factory customer hub list %s`)", ErrNotFound, hostname, customer, customer)
		}
		return s.auditFor(ctx, tx, customer, actor, "hub-removed", "", hostname, "")
	})
}

// CustomerHubs returns the hubs allowed for customer, sorted; ErrNotFound for an unknown
// customer.
func (s *Store) CustomerHubs(ctx context.Context, customer string) ([]string, error) {
	if err := s.customerExists(ctx, s.rd, customer); err != nil {
		return nil, err
	}
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT hostname FROM customer_hubs WHERE customer = ? ORDER BY hostname`), customer)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// FormDefinition returns customer's metadata form as its administrator last saved it (JSON,
// read by the portal's activation package), or "" when none was saved.
func (s *Store) FormDefinition(ctx context.Context, customer string) (string, error) {
	var def string
	err := s.rd.QueryRowContext(ctx, s.q(`SELECT definition FROM portal_forms WHERE customer = ?`), customer).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("records: %w", err)
	}
	return def, nil
}

// SetFormDefinition saves customer's metadata form (checked by the caller), audited with what
// changed and where from.
func (s *Store) SetFormDefinition(ctx context.Context, customer, definition, actor, detail, address string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.customerExists(ctx, tx, customer); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO portal_forms (customer, definition, updated_at) VALUES (?, ?, ?)
ON CONFLICT (customer) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`), customer, definition, ts(time.Now())); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		return s.auditFor(ctx, tx, customer, actor, "form-changed", "", detail, address)
	})
}

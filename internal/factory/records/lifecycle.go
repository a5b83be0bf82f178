package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrWrongState means the board is not in a state the change applies to (deactivating a board
// that is not active, re-activating one that is not deactivated, editing the metadata of one
// that has registered): nothing was recorded.
var ErrWrongState = errors.New("records: the board is not in a state this change applies to")

// Change is what the portal records when an activated board is deactivated, re-activated or
// its metadata edited: who did it, what, and from where go to the audit line.
type Change struct {
	GUID, Customer string
	// Hub and Metadata are the board's new hub and metadata (EditMetadata only).
	Hub                    string
	Metadata               map[string]string
	Actor, Detail, Address string
}

// Deactivate records that customer's active (activated or registered) board was deactivated,
// audited, in one transaction; ErrNotFound when the board is not the customer's, ErrWrongState
// when it is not active.
func (s *Store) Deactivate(ctx context.Context, c Change) error {
	return s.change(ctx, c, "deactivated", `fleet_state = ?, deactivated_at = ?`, []any{FleetDeactivated, ts(time.Now())},
		`fleet_state IN (?, ?)`, []any{FleetActivated, FleetRegistered})
}

// Reactivate records that customer's deactivated board was enabled again: its fleet state is
// registered again if DPS had registered it, else activated; audited, in one transaction.
func (s *Store) Reactivate(ctx context.Context, c Change) error {
	return s.change(ctx, c, "reactivated",
		`fleet_state = CASE WHEN registered_hub <> '' THEN '`+FleetRegistered+`' ELSE '`+FleetActivated+`' END, deactivated_at = NULL`, nil,
		`fleet_state = ?`, []any{FleetDeactivated})
}

// EditMetadata records the new hub and metadata of customer's board activated but not
// registered yet, audited, in one transaction; ErrWrongState once it has registered.
func (s *Store) EditMetadata(ctx context.Context, c Change) error {
	meta := c.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("records: metadata: %w", err)
	}
	return s.change(ctx, c, "metadata-edited", `hub = ?, metadata = ?, search_text = ?`, []any{c.Hub, string(metaJSON), searchText(c.Hub, meta)},
		`fleet_state = ?`, []any{FleetActivated})
}

// change applies set to c's board when it is c.Customer's and matches cond, and audits action.
func (s *Store) change(ctx context.Context, c Change, action, set string, setArgs []any, cond string, condArgs []any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		args := append(append(setArgs, c.GUID, c.Customer), condArgs...)
		res, err := tx.ExecContext(ctx, s.q(`UPDATE boards SET `+set+` WHERE guid = ? AND customer = ? AND `+cond), args...)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s.auditFor(ctx, tx, c.Customer, c.Actor, action, c.GUID, c.Detail, c.Address)
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM boards WHERE guid = ? AND customer = ?`), c.GUID, c.Customer).Scan(&n); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("%w: board %s of %s", ErrNotFound, c.GUID, c.Customer)
		}
		return fmt.Errorf("%w: board %s", ErrWrongState, c.GUID)
	})
}

package records

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Connection states of an activated board, as the portal last read them.
const (
	// ConnConnected: the board's device has a connection open to its IoT hub.
	ConnConnected = "connected"
	// ConnDisconnected: the hub knows the device, which is not connected now.
	ConnDisconnected = "disconnected"
	// ConnNotProvisioned: DPS has not assigned the board to a hub yet (it has not registered), or
	// the hub does not hold its device.
	ConnNotProvisioned = "not-provisioned"
	// ConnUnknown: the state could not be read; Error says why.
	ConnUnknown = "unknown"
)

// validConnState reports whether c is one of the states above.
func validConnState(c string) bool {
	return c == ConnConnected || c == ConnDisconnected || c == ConnNotProvisioned || c == ConnUnknown
}

// Connection is what the portal last learnt of a board's device in its IoT hub.
type Connection struct {
	GUID  string
	State string
	// Hub and DeviceID are where DPS assigned the board, empty while it is not provisioned.
	Hub, DeviceID string
	// Since is when the device last connected or disconnected (the hub's
	// connectionStateUpdatedTime), LastActivity when it was last active; zero when unknown.
	Since, LastActivity time.Time
	// CheckedAt is when this was read.
	CheckedAt time.Time
	// Error says why the state is unknown; empty otherwise.
	Error string
}

// maxConnError bounds the error text kept with a connection.
const maxConnError = 500

// SetConnection records c, replacing what was recorded for its board. The board must exist.
func (s *Store) SetConnection(ctx context.Context, c *Connection) error {
	if !validConnState(c.State) {
		return fmt.Errorf("records: connection state %q is not one of connected, disconnected, not-provisioned, unknown", c.State)
	}
	msg := c.Error
	if len(msg) > maxConnError {
		msg = msg[:maxConnError]
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO board_connections (guid, state, hub, device_id, state_since, last_activity, checked_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (guid) DO UPDATE SET state = excluded.state, hub = excluded.hub, device_id = excluded.device_id, state_since = excluded.state_since,
	last_activity = excluded.last_activity, checked_at = excluded.checked_at, last_error = excluded.last_error`),
		c.GUID, c.State, c.Hub, c.DeviceID, nullableTS(c.Since), nullableTS(c.LastActivity), checkedTS(c.CheckedAt), msg)
	if err != nil {
		return fmt.Errorf("records: connection of %s: %w", c.GUID, err)
	}
	return nil
}

// Connections returns the recorded connections of the boards guids, by GUID; boards never
// checked are absent.
func (s *Store) Connections(ctx context.Context, guids []string) (map[string]Connection, error) {
	out := map[string]Connection{}
	if len(guids) == 0 {
		return out, nil
	}
	args := make([]any, len(guids))
	for i, g := range guids {
		args[i] = g
	}
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT guid, state, hub, device_id, state_since, last_activity, checked_at, last_error FROM board_connections WHERE guid IN (?`+strings.Repeat(", ?", len(guids)-1)+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Connection
		var since, activity sql.NullString
		var checked string
		if err := rows.Scan(&c.GUID, &c.State, &c.Hub, &c.DeviceID, &since, &activity, &checked, &c.Error); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		c.Since, c.LastActivity, c.CheckedAt = nullTS(since), nullTS(activity), parseTS(checked)
		out[c.GUID] = c
	}
	return out, rows.Err()
}

// ConnectionsDue returns up to limit activated boards to check, those never checked first, then
// those checked longest ago, skipping any checked after notAfter.
func (s *Store) ConnectionsDue(ctx context.Context, notAfter time.Time, limit int) ([]string, error) {
	return s.column(ctx, `SELECT b.guid FROM boards b LEFT JOIN board_connections c ON c.guid = b.guid
WHERE b.state = ? AND (c.checked_at IS NULL OR c.checked_at <= ?)
ORDER BY COALESCE(c.checked_at, ''), b.guid LIMIT ?`, StateActivated, checkedTS(notAfter), limit)
}

// checkedTS is a check's time as stored: whole seconds, so that the text compares as the time
// does (RFC 3339 text with and without fractional seconds does not).
func checkedTS(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// nullableTS is t as stored, or NULL when zero.
func nullableTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

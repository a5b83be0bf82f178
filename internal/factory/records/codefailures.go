package records

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// CodeFailureReportAt is the first count of failed activation attempts (wrong codes and attempts
// refused as too many) at which an organisation is told, with an audit line; it is told again
// at each tenfold count (100, 1,000, …).
const CodeFailureReportAt = 10

// maxFailureGUID bounds what of a typed GUID is kept: a user may type anything.
const maxFailureGUID = 64

// CodeFailure is the failed activation attempts counted for a board (as typed) from a client
// address; an empty GUID counts the attempts refused for boards not counted before. For an
// address across boards, GUID is empty and Boards says how many rows it has.
type CodeFailure struct {
	GUID, Address   string
	Wrong, Refused  int
	Boards          int
	FirstAt, LastAt time.Time
}

// Total is the failed attempts of both kinds.
func (f CodeFailure) Total() int { return f.Wrong + f.Refused }

// reportCount reports whether n is one of the counts an organisation is told at.
func reportCount(n int) bool {
	for at := CodeFailureReportAt; at <= n; at *= 10 {
		if n == at {
			return true
		}
	}
	return false
}

// CodeFailed counts one failed activation attempt by account (of the organisation accountOrg)
// for guid from address, in the counts of accountOrg and of boardOrg (the board's organisation,
// when it is known and another): wrong is a code checked and wrong, else an attempt refused as
// too many. When a count reaches a report count (CodeFailureReportAt, then each tenfold), for
// the board and address or for the address across boards, the organisation's audit trail gets
// a line saying so, naming the account to its own organisation only.
func (s *Store) CodeFailed(ctx context.Context, account, accountOrg, boardOrg, guid, address string, wrong bool, now time.Time) error {
	if len(guid) > maxFailureGUID {
		guid = guid[:maxFailureGUID]
	}
	w, rf := 0, 1
	if wrong {
		w, rf = 1, 0
	}
	var seen []string
	for _, c := range []string{accountOrg, boardOrg} {
		if c == "" || slices.Contains(seen, c) {
			continue
		}
		seen = append(seen, c)
		actor := "portal"
		if c == accountOrg && account != "" {
			actor = account
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			guid := guid
			if !wrong {
				// Refused attempts are not rate limited: they add no row per GUID typed (the
				// table would grow with whatever is sent). One for a board and address already
				// counted is added to its row, any other to the address's row of other boards.
				var n int
				if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM code_failures WHERE customer = ? AND guid = ? AND address = ?`), c, guid, address).Scan(&n); err != nil {
					return fmt.Errorf("records: code failures: %w", err)
				}
				if n == 0 {
					guid = ""
				}
			}
			var nw, nr int
			if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO code_failures (customer, guid, address, wrong, refused, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (customer, guid, address) DO UPDATE SET wrong = code_failures.wrong + excluded.wrong, refused = code_failures.refused + excluded.refused, last_at = excluded.last_at
RETURNING wrong, refused`), c, guid, address, w, rf, ts(now), ts(now)).Scan(&nw, &nr); err != nil {
				return fmt.Errorf("records: code failures: %w", err)
			}
			if reportCount(nw + nr) {
				detail := fmt.Sprintf("%d wrong activation codes for board %s from address %s", nw, guid, address)
				if guid == "" {
					detail = fmt.Sprintf("%d wrong activation codes for other boards from address %s", nw, address)
				}
				if nr > 0 {
					detail += fmt.Sprintf(", and %d more attempts refused as too many", nr)
				}
				return s.auditFor(ctx, tx, c, actor, "wrong-codes", guid, detail, address)
			}
			var sum, boards int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(wrong + refused), 0), COUNT(*) FROM code_failures WHERE customer = ? AND address = ?`), c, address).Scan(&sum, &boards); err != nil {
				return fmt.Errorf("records: code failures: %w", err)
			}
			if boards > 1 && reportCount(sum) {
				return s.auditFor(ctx, tx, c, actor, "wrong-codes", "",
					fmt.Sprintf("%d failed activation attempts from address %s, across %d boards", sum, address, boards), address)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// CodeFailures returns what customer's admins are shown of the failed activation attempts since
// since: each board and address with at least CodeFailureReportAt of them, then each address
// with at least as many across several boards; the latest first, at most limit of each.
func (s *Store) CodeFailures(ctx context.Context, customer string, since time.Time, limit int) (boards, addresses []CodeFailure, err error) {
	scan := func(query string, args ...any) ([]CodeFailure, error) {
		rows, err := s.db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return nil, fmt.Errorf("records: code failures: %w", err)
		}
		defer rows.Close()
		var out []CodeFailure
		for rows.Next() {
			var f CodeFailure
			var first, last string
			if err := rows.Scan(&f.GUID, &f.Address, &f.Wrong, &f.Refused, &f.Boards, &first, &last); err != nil {
				return nil, fmt.Errorf("records: code failures: %w", err)
			}
			f.FirstAt, f.LastAt = parseTS(first), parseTS(last)
			out = append(out, f)
		}
		return out, rows.Err()
	}
	at := ts(since)
	if boards, err = scan(`SELECT guid, address, wrong, refused, 1, first_at, last_at FROM code_failures
WHERE customer = ? AND last_at >= ? AND wrong + refused >= ? ORDER BY last_at DESC LIMIT ?`, customer, at, CodeFailureReportAt, limit); err != nil {
		return nil, nil, err
	}
	addresses, err = scan(`SELECT '', address, SUM(wrong), SUM(refused), COUNT(*), MIN(first_at), MAX(last_at) FROM code_failures
WHERE customer = ? AND last_at >= ? GROUP BY address HAVING COUNT(*) > 1 AND SUM(wrong + refused) >= ? ORDER BY MAX(last_at) DESC LIMIT ?`, customer, at, CodeFailureReportAt, limit)
	return boards, addresses, err
}

package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Fleet states: a shipped board as its customer sees it.
const (
	FleetShipped    = "shipped"    // shipped, not activated yet
	FleetActivated  = "activated"  // activated in the portal, not seen registered in DPS yet
	FleetRegistered = "registered" // DPS assigned it to a hub
	// FleetDeactivated: its organisation disabled its enrollment again (lifecycle.go).
	FleetDeactivated = "deactivated"
)

// ValidFleetState reports whether st is one of the fleet states.
func ValidFleetState(st string) bool {
	return st == FleetShipped || st == FleetActivated || st == FleetRegistered || st == FleetDeactivated
}

// FleetBoard is a shipped board with what the portal records about it.
type FleetBoard struct {
	Board
	FleetState string
	// Hub is the IoT hub it was activated with; RegisteredHub the one DPS assigned it to, at
	// RegisteredAt.
	Hub           string
	RegisteredHub string
	RegisteredAt  time.Time
	// Metadata is what the customer recorded at activation (or edited since), by field name.
	Metadata map[string]string
	// DeactivatedAt is when it was deactivated, for a deactivated board.
	DeactivatedAt time.Time
}

const fleetCols = boardCols + `, fleet_state, hub, registered_hub, registered_at, metadata, deactivated_at`

func scanFleetBoard(row interface{ Scan(...any) error }) (*FleetBoard, error) {
	var b FleetBoard
	var issued, notAfter, meta string
	var reissue int
	var customer, shipped, activated, registered, deactivated sql.NullString
	err := row.Scan(&b.GUID, &b.KeySHA256, &b.Certificate, &b.Chain, &b.Serial, &b.Station, &b.Line, &b.Batch,
		&issued, &notAfter, &b.State, &reissue, &customer, &shipped, &activated,
		&b.FleetState, &b.Hub, &b.RegisteredHub, &registered, &meta, &deactivated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	b.IssuedAt, b.NotAfter, b.Reissue = parseTS(issued), parseTS(notAfter), reissue != 0
	b.Customer, b.ShippedAt, b.ActivatedAt, b.RegisteredAt = customer.String, nullTS(shipped), nullTS(activated), nullTS(registered)
	b.DeactivatedAt = nullTS(deactivated)
	if err := json.Unmarshal([]byte(meta), &b.Metadata); err != nil {
		return nil, fmt.Errorf("records: board %s: its metadata is not a JSON object of strings: %w", b.GUID, err)
	}
	return &b, nil
}

// CustomerBoard returns the board guid if it was shipped to customer, else ErrNotFound: another
// organisation's board and an unknown one are the same answer.
func (s *Store) CustomerBoard(ctx context.Context, customer, guid string) (*FleetBoard, error) {
	return scanFleetBoard(s.rd.QueryRowContext(ctx, s.q(`SELECT `+fleetCols+` FROM boards WHERE guid = ? AND customer = ?`), guid, customer))
}

// FleetFilter narrows the fleet list; the zero value is every shipped board.
type FleetFilter struct {
	// State is one of the fleet states, or empty for all.
	State string
	// GUIDPrefix is the start of the GUID, lower-case hex digits and hyphens.
	GUIDPrefix string
	// Text is found, ignoring case, anywhere in the board's activation metadata or hub.
	Text string
}

// Cursor marks a place in the fleet list: the last (or first) board of a page. Its zero value
// is the list's start.
type Cursor struct {
	ShippedAt string // as stored
	GUID      string
}

// IsZero reports whether c is the list's start.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// FleetPage is one page of the fleet list, newest shipment first.
type FleetPage struct {
	Boards []FleetBoard
	// Next and Prev are the cursors of the following and the preceding page, nil at an end.
	Next, Prev *Cursor
}

// where returns the filter's conditions and their arguments; viaIndex finds the text through the
// word index (textPlan).
func (s *Store) where(customer string, f FleetFilter, viaIndex bool) (string, []any) {
	cond, args := []string{"customer = ?"}, []any{customer}
	if f.State != "" {
		cond, args = append(cond, "fleet_state = ?"), append(args, f.State)
	}
	if f.GUIDPrefix != "" {
		if s.postgres {
			// A range on guid would follow the database's collation, which may order hyphens
			// unlike bytes; LIKE does not.
			cond, args = append(cond, `guid LIKE ? ESCAPE '\'`), append(args, likeEscape(f.GUIDPrefix)+"%")
		} else {
			// SQLite compares bytes, so a range on the primary key finds the prefix's few boards;
			// the + keeps SQLite from walking the organisation's index instead.
			cond[0] = "+customer = ?"
			cond, args = append(cond, "guid >= ? AND guid < ?"), append(args, f.GUIDPrefix, f.GUIDPrefix+"~")
		}
	}
	if f.Text != "" {
		text := strings.ToLower(f.Text)
		if viaIndex {
			// The trigram index finds the boards holding every three characters of the text
			// in a row (its LIKE takes % and _ as wildcards: it finds more, never fewer); the
			// LIKE after it keeps those holding the text itself. The boards are looked up by
			// GUID from what it finds: the + keeps SQLite from walking the organisation's
			// index instead and testing each board against the list.
			cond[0] = "+customer = ?"
			cond, args = append(cond, `guid IN (SELECT k.guid FROM board_search JOIN board_search_keys k ON k.key = board_search.rowid WHERE board_search.search_text LIKE ?)`),
				append(args, "%"+text+"%")
		}
		// On PostgreSQL the trigram index serves this LIKE itself.
		cond, args = append(cond, `search_text LIKE ? ESCAPE '\'`), append(args, "%"+likeEscape(text)+"%")
	}
	return strings.Join(cond, " AND "), args
}

// indexable reports whether the trigram index can find text: it takes three characters or
// more. A shorter text is looked for in every board's search_text.
func indexable(text string) bool { return utf8.RuneCountInString(text) >= 3 }

// Where the word index pays, by how many boards it finds (of every organisation). A page of the
// list costs, through the index, a lookup and a sort of every board found, and walking the
// organisation's boards in order instead stops at the page's 25th match: the index wins while
// the matches are few (about the square root of a 100,000-board fleet). A count walks every
// board either way, or stops at its bound, so the index wins for far more.
const (
	pageByIndexUpTo  = 300
	countByIndexUpTo = 3000
)

// textPlan reports whether f's text is best found through the word index, given that it wins
// while it finds at most upTo boards: it asks the index how many it finds, up to upTo+1. Only
// SQLite has that choice to make: PostgreSQL's planner weighs its own trigram index.
func (s *Store) textPlan(ctx context.Context, f FleetFilter, upTo int) (bool, error) {
	text := strings.ToLower(f.Text)
	if s.postgres || f.GUIDPrefix != "" || !indexable(text) {
		return false, nil
	}
	var n int
	if err := s.rd.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM board_search WHERE search_text LIKE ? LIMIT ?)`, "%"+text+"%", upTo+1).Scan(&n); err != nil {
		return false, fmt.Errorf("records: fleet search: %w", err)
	}
	return n <= upTo, nil
}

// fleetTable is the list query's FROM: for a text search on SQLite not found through the word
// index, the boards through the index holding search_text, whose entries the LIKE is tested on
// without reading each board's row (SQLite would otherwise walk the narrower shipment index and
// read every row to test it). A GUID prefix keeps its own range on the primary key.
func (s *Store) fleetTable(f FleetFilter, viaIndex bool) string {
	if !s.postgres && f.Text != "" && !viaIndex && f.GUIDPrefix == "" {
		return "boards INDEXED BY boards_fleet"
	}
	return "boards"
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Fleet returns up to limit of customer's boards matching f, newest shipment first (the GUID
// breaks ties, descending): those after the cursor after, or, with before set, those just before
// it. Pages are found by keyset through the (customer, shipped_at, guid) indexes, so a deep page
// costs what the first does.
func (s *Store) Fleet(ctx context.Context, customer string, f FleetFilter, after, before Cursor, limit int) (*FleetPage, error) {
	viaIndex, err := s.textPlan(ctx, f, pageByIndexUpTo)
	if err != nil {
		return nil, err
	}
	return s.fleet(ctx, customer, f, after, before, limit, viaIndex)
}

// fleet is Fleet, the text found through the word index or not as viaIndex says.
func (s *Store) fleet(ctx context.Context, customer string, f FleetFilter, after, before Cursor, limit int, viaIndex bool) (*FleetPage, error) {
	cond, args := s.where(customer, f, viaIndex)
	order, backward := "shipped_at DESC, guid DESC", !before.IsZero()
	switch {
	case backward:
		cond += " AND (shipped_at, guid) > (?, ?)"
		args = append(args, before.ShippedAt, before.GUID)
		order = "shipped_at, guid"
	case !after.IsZero():
		cond += " AND (shipped_at, guid) < (?, ?)"
		args = append(args, after.ShippedAt, after.GUID)
	}
	rows, err := s.rd.QueryContext(ctx, s.q(`SELECT `+fleetCols+` FROM `+s.fleetTable(f, viaIndex)+` WHERE `+cond+` ORDER BY `+order+` LIMIT ?`), append(args, limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("records: fleet: %w", err)
	}
	defer rows.Close()
	var list []FleetBoard
	for rows.Next() {
		b, err := scanFleetBoard(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, *b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("records: fleet: %w", err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	if backward {
		slices.Reverse(list)
	}
	p := &FleetPage{Boards: list}
	if len(list) == 0 {
		return p, nil
	}
	first, last := cursorOf(&list[0]), cursorOf(&list[len(list)-1])
	if backward {
		p.Next = &last
		if more {
			p.Prev = &first
		}
	} else {
		if more {
			p.Next = &last
		}
		if !after.IsZero() {
			p.Prev = &first
		}
	}
	return p, nil
}

func cursorOf(b *FleetBoard) Cursor {
	return Cursor{ShippedAt: ts(b.ShippedAt), GUID: b.GUID}
}

// FleetCount returns how many of customer's boards match f, counting no further than max:
// more reports that there are more than max.
func (s *Store) FleetCount(ctx context.Context, customer string, f FleetFilter, max int) (n int, more bool, err error) {
	viaIndex, err := s.textPlan(ctx, f, countByIndexUpTo)
	if err != nil {
		return 0, false, err
	}
	return s.fleetCount(ctx, customer, f, max, viaIndex)
}

// fleetCount is FleetCount, the text found through the word index or not as viaIndex says.
func (s *Store) fleetCount(ctx context.Context, customer string, f FleetFilter, max int, viaIndex bool) (n int, more bool, err error) {
	cond, args := s.where(customer, f, viaIndex)
	err = s.rd.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (SELECT 1 FROM `+s.fleetTable(f, viaIndex)+` WHERE `+cond+` LIMIT ?) AS matching`), append(args, max+1)...).Scan(&n)
	if err != nil {
		return 0, false, fmt.Errorf("records: fleet count: %w", err)
	}
	if n > max {
		return max, true, nil
	}
	return n, false, nil
}

// Activation is what the portal records when a board is activated.
type Activation struct {
	GUID, Customer, CodeSHA256 string
	// Hub is the IoT hub the enrollment now names; Metadata what the customer typed, by field.
	Hub      string
	Metadata map[string]string
	// Actor, Detail and Address go to the audit line.
	Actor, Detail, Address string
}

// searchText is what the list's text search looks in: the metadata's values and the hub,
// lower-cased, one a line.
func searchText(hub string, meta map[string]string) string {
	parts := []string{hub}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, meta[k])
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// Activate records an activation: the code is spent, the board's state becomes activated with
// its hub and metadata, and the change is audited with who, what and from where, in one
// transaction. It returns the board as it now is. ErrNotFound when the board is not the
// customer's or the code is not (or no longer) its code.
func (s *Store) Activate(ctx context.Context, a Activation) (*FleetBoard, error) {
	meta := a.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("records: metadata: %w", err)
	}
	var after *FleetBoard
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM activation_codes WHERE guid = ? AND code_sha256 = ? AND EXISTS (SELECT 1 FROM boards WHERE boards.guid = ? AND customer = ?)`),
			a.GUID, a.CodeSHA256, a.GUID, a.Customer)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: board %s with that code", ErrNotFound, a.GUID)
		}
		if after, err = scanFleetBoard(tx.QueryRowContext(ctx, s.q(`UPDATE boards SET state = ?, activated_at = ?, fleet_state = ?, hub = ?, metadata = ?, search_text = ?,
registered_hub = '', registered_at = NULL, registration_checked_at = '' WHERE guid = ? RETURNING `+fleetCols),
			StateActivated, ts(time.Now()), FleetActivated, a.Hub, string(metaJSON), searchText(a.Hub, meta), a.GUID)); err != nil {
			return err
		}
		return s.auditFrom(ctx, tx, a.Actor, "activated", a.GUID, a.Detail, a.Address)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// RegistrationDue returns up to limit activated boards not seen registered yet whose
// registration was last read before before (or never), the longest unread first.
func (s *Store) RegistrationDue(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT guid FROM boards WHERE fleet_state = ? AND registration_checked_at < ? ORDER BY registration_checked_at LIMIT ?`),
		FleetActivated, ts(before), limit)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// RegistrationChecked records that guid's registration was read at t and showed it not
// registered (or not yet assigned).
func (s *Store) RegistrationChecked(ctx context.Context, guid string, t time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE boards SET registration_checked_at = ? WHERE guid = ? AND fleet_state = ?`), ts(t), guid, FleetActivated); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return nil
}

// Registered records that DPS assigned the activated board guid to hub at at, read at checked,
// audited when it is news (a first registration, or another hub). It reports whether it was.
func (s *Store) Registered(ctx context.Context, guid, hub string, at, checked time.Time) (bool, error) {
	news := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE boards SET fleet_state = ?, registered_hub = ?, registered_at = ?, registration_checked_at = ?
WHERE guid = ? AND fleet_state IN (?, ?) AND NOT (fleet_state = ? AND registered_hub = ?)`),
			FleetRegistered, hub, ts(at), ts(checked), guid, FleetActivated, FleetRegistered, FleetRegistered, hub)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		news = true
		return s.auditFrom(ctx, tx, "dps", "registered", guid, "assigned to hub "+hub, "")
	})
	return news, err
}

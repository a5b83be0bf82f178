package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oobtpm/oob/internal/factory/records"
)

// PageSize is how many boards the list shows at once.
const PageSize = 25

// countUpTo is as far as the list counts the boards that match; past it the page says "more
// than".
const countUpTo = 10_000

// listQuery is the fleet list's search as its URL carries it: guid (a prefix), state, q (text
// in the metadata or hub), and after or before (a page's cursor).
type listQuery struct {
	Filter        records.FleetFilter
	After, Before records.Cursor
}

// parseListQuery reads the list's parameters strictly; the error says what to change.
func parseListQuery(q url.Values) (listQuery, error) {
	var lq listQuery
	lq.Filter.GUIDPrefix = strings.ToLower(strings.TrimSpace(q.Get("guid")))
	if p := lq.Filter.GUIDPrefix; len(p) > 36 || strings.Trim(p, "0123456789abcdef-") != "" {
		return lq, errors.New("A GUID has only the digits 0–9, the letters a–f and hyphens: type its first characters.")
	}
	lq.Filter.State = q.Get("state")
	if lq.Filter.State != "" && !records.ValidFleetState(lq.Filter.State) {
		return lq, errors.New("Choose a state from the list: shipped, activated or registered.")
	}
	lq.Filter.Text = strings.TrimSpace(q.Get("q"))
	if t := lq.Filter.Text; utf8.RuneCountInString(t) > 100 || strings.IndexFunc(t, unicode.IsControl) >= 0 {
		return lq, errors.New("Search for at most 100 characters, on one line.")
	}
	var err error
	if lq.After, err = parseCursor(q.Get("after")); err == nil {
		lq.Before, err = parseCursor(q.Get("before"))
	}
	if err != nil || (!lq.After.IsZero() && !lq.Before.IsZero()) {
		return lq, errors.New("This page's link is damaged: start again from the first page.")
	}
	return lq, nil
}

// A cursor in a URL is the shipment time as stored, a space and the GUID.
func parseCursor(s string) (records.Cursor, error) {
	if s == "" {
		return records.Cursor{}, nil
	}
	at, guid, ok := strings.Cut(s, " ")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || records.TimeText(t) != at || guid == "" || len(guid) > 64 || strings.Trim(guid, "0123456789abcdef-") != "" {
		return records.Cursor{}, errors.New("web: bad cursor")
	}
	return records.Cursor{ShippedAt: at, GUID: guid}, nil
}

// values is the search's URL parameters, with a cursor when given.
func (lq listQuery) values(after, before *records.Cursor) url.Values {
	v := url.Values{}
	if lq.Filter.GUIDPrefix != "" {
		v.Set("guid", lq.Filter.GUIDPrefix)
	}
	if lq.Filter.State != "" {
		v.Set("state", lq.Filter.State)
	}
	if lq.Filter.Text != "" {
		v.Set("q", lq.Filter.Text)
	}
	if after != nil {
		v.Set("after", after.ShippedAt+" "+after.GUID)
	}
	if before != nil {
		v.Set("before", before.ShippedAt+" "+before.GUID)
	}
	return v
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

type boardsPage struct {
	Boards          []records.FleetBoard
	Query           listQuery
	States          []string
	Count           int
	More, Searching bool
	Prev, Next      string
	First, Export   string
	CanImport       bool
	Error           string
	// Conn is each listed board's hub connection as last read, by GUID (absent: never read).
	Conn map[string]records.Connection
}

func (s *Server) boards(w http.ResponseWriter, r *http.Request, a *auth) {
	p := boardsPage{States: []string{records.FleetShipped, records.FleetActivated, records.FleetRegistered, records.FleetDeactivated},
		CanImport: a.user.Role != records.RoleViewer}
	v := &view{Title: "Boards of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken}
	lq, err := parseListQuery(r.URL.Query())
	p.Query = lq
	if err != nil {
		p.Error = err.Error()
		v.P = p
		s.render(w, r, http.StatusBadRequest, "boards", v)
		return
	}
	page, count, more, err := s.fleetPage(r.Context(), a.user.Customer, lq)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	p.Count, p.More = count, more
	guids := make([]string, len(page.Boards))
	for i, b := range page.Boards {
		guids[i] = b.GUID
	}
	if p.Conn, err = s.cfg.Store.Connections(r.Context(), guids); err != nil {
		s.internal(w, r, a, err)
		return
	}
	p.Boards, p.Searching = page.Boards, lq.Filter != records.FleetFilter{}
	if page.Prev != nil {
		p.Prev = withQuery("/boards", lq.values(nil, page.Prev))
		p.First = withQuery("/boards", lq.values(nil, nil))
	}
	if page.Next != nil {
		p.Next = withQuery("/boards", lq.values(page.Next, nil))
	}
	p.Export = withQuery("/boards/export.csv", lq.values(nil, nil))
	v.P = p
	s.render(w, r, http.StatusOK, "boards", v)
}

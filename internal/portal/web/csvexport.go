package web

import (
	"net/http"
	"regexp"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/boardcsv"
)

// exportPage is how many boards the export reads from the records at a time.
const exportPage = 500

var unsafeFileName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// export streams the list, as searched, as CSV: a page of boards read, written, flushed, and so
// on, so that no whole fleet is held in memory.
func (s *Server) export(w http.ResponseWriter, r *http.Request, a *auth) {
	lq, err := parseListQuery(r.URL.Query())
	if err != nil {
		s.message(w, r, a, http.StatusBadRequest, "Export refused", err.Error())
		return
	}
	ctx := r.Context()
	o, err := s.org(ctx, a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	fields := o.fieldNames()
	page, err := s.cfg.Store.Fleet(ctx, a.user.Customer, lq.Filter, records.Cursor{}, records.Cursor{}, exportPage)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(importTime))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="boards-`+unsafeFileName.ReplaceAllString(a.user.Customer, "_")+`.csv"`)
	cw := boardcsv.NewWriter(w)
	header := append([]string{"guid", "state", "shipped_at", "activated_at", "hub", "registered_hub", "registered_at"}, fields...)
	_ = cw.Write(header)
	flusher := http.NewResponseController(w)
	for {
		for _, b := range page.Boards {
			row := []string{b.GUID, b.FleetState, csvTime(b.ShippedAt), csvTime(b.ActivatedAt), b.Hub, b.RegisteredHub, csvTime(b.RegisteredAt)}
			for _, f := range fields {
				row = append(row, b.Metadata[f])
			}
			_ = cw.Write(row)
		}
		if err := cw.Flush(); err != nil {
			return // the client went away
		}
		_ = flusher.Flush()
		if page.Next == nil {
			return
		}
		if page, err = s.cfg.Store.Fleet(ctx, a.user.Customer, lq.Filter, *page.Next, records.Cursor{}, exportPage); err != nil {
			// The header is sent: all that can be done is to end the file short and log.
			s.cfg.Logger.Error("web: export", "err", err)
			return
		}
	}
}

package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
)

// AuditPageSize is how many audit lines a page shows.
const AuditPageSize = 50

// failureWindow is how far back the audit page's notice of repeated wrong codes looks.
const failureWindow = 7 * 24 * time.Hour

type auditPage struct {
	// Guessed and GuessedFrom are the repeated failed activation attempts of the last
	// failureWindow: per board and address, and per address across boards.
	Guessed, GuessedFrom []records.CodeFailure
	Lines                []records.AuditEntry
	Total                int
	Prev, Next           int
	First, Last          int
}

// audit shows the organisation's audit trail, newest first: who did what, when, from where.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, a *auth) {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	lines, total, err := s.cfg.Store.CustomerAudit(r.Context(), a.user.Customer, AuditPageSize, (page-1)*AuditPageSize)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	guessed, from, err := s.cfg.Store.CodeFailures(r.Context(), a.user.Customer, s.cfg.Now().Add(-failureWindow), 20)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	p := auditPage{Guessed: guessed, GuessedFrom: from, Lines: lines, Total: total, First: (page-1)*AuditPageSize + 1, Last: (page-1)*AuditPageSize + len(lines)}
	if page > 1 {
		p.Prev = page - 1
	}
	if page*AuditPageSize < total {
		p.Next = page + 1
	}
	s.render(w, r, http.StatusOK, "admin-audit", &view{Title: "Audit trail of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken, P: p})
}

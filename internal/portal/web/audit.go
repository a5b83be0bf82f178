package web

import (
	"net/http"
	"strconv"

	"github.com/oobtpm/oob/internal/factory/records"
)

// AuditPageSize is how many audit lines a page shows.
const AuditPageSize = 50

type auditPage struct {
	Lines       []records.AuditEntry
	Total       int
	Prev, Next  int
	First, Last int
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
	p := auditPage{Lines: lines, Total: total, First: (page-1)*AuditPageSize + 1, Last: (page-1)*AuditPageSize + len(lines)}
	if page > 1 {
		p.Prev = page - 1
	}
	if page*AuditPageSize < total {
		p.Next = page + 1
	}
	s.render(w, r, http.StatusOK, "admin-audit", &view{Title: "Audit trail of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken, P: p})
}

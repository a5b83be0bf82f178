package web

import (
	"net/http"
	"strconv"

	"github.com/oobtpm/oob/internal/factory/records"
)

// PageSize is how many boards the list shows at once.
const PageSize = 25

type boardsPage struct {
	Boards []records.Board
	// Conn is each listed board's hub connection as last read, by GUID (absent: never read).
	Conn        map[string]records.Connection
	Total, Page int
	Prev, Next  int
	First, Last int
}

func (s *Server) boards(w http.ResponseWriter, r *http.Request, a *auth) {
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	list, total, err := s.cfg.Store.CustomerBoards(r.Context(), a.user.Customer, PageSize, (page-1)*PageSize)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	guids := make([]string, len(list))
	for i, b := range list {
		guids[i] = b.GUID
	}
	conn, err := s.cfg.Store.Connections(r.Context(), guids)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	p := boardsPage{Boards: list, Conn: conn, Total: total, Page: page, First: (page-1)*PageSize + 1, Last: (page-1)*PageSize + len(list)}
	if page > 1 {
		p.Prev = page - 1
	}
	if page*PageSize < total {
		p.Next = page + 1
	}
	s.render(w, r, http.StatusOK, "boards", &view{Title: "Boards of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken, P: p})
}

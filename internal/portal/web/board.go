package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/registration"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

type boardPage struct {
	Board   *records.FleetBoard
	History []records.AuditEntry
	// DPS is the registration as DPS holds it now; DPSRead says it was read, DPSError that
	// reading it failed.
	DPS      *dpsapi.DeviceRegistrationState
	DPSRead  bool
	DPSError bool
}

// board shows one board of the user's organisation: its state, metadata, hub, registration (read
// from DPS now) and history. Another organisation's board is "not found", as an unknown one.
func (s *Server) board(w http.ResponseWriter, r *http.Request, a *auth) {
	guid := strings.ToLower(r.PathValue("guid"))
	ctx := r.Context()
	b, err := s.cfg.Store.CustomerBoard(ctx, a.user.Customer, guid)
	if errors.Is(err, records.ErrNotFound) {
		s.message(w, r, a, http.StatusNotFound, "Board not found", "No board of "+a.user.Customer+" has that GUID. Check it against the board's label.")
		return
	}
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	p := boardPage{Board: b}
	if s.cfg.Registrations != nil && b.FleetState != records.FleetShipped {
		st, err := registration.Check(ctx, s.cfg.Store, s.cfg.Registrations, guid, s.cfg.Now())
		if err != nil {
			s.cfg.Logger.Warn("web: registration read", "guid", guid, "err", err)
			p.DPSError = true
		} else {
			p.DPS, p.DPSRead = st, true
			if b, err = s.cfg.Store.CustomerBoard(ctx, a.user.Customer, guid); err != nil {
				s.internal(w, r, a, err)
				return
			}
			p.Board = b
		}
	}
	if p.History, err = s.cfg.Store.Audit(ctx, guid); err != nil {
		s.internal(w, r, a, err)
		return
	}
	s.render(w, r, http.StatusOK, "board", &view{Title: "Board " + guid, User: a.user, CSRF: a.ses.FormToken, P: p})
}

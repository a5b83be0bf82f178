package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
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
	// Enrollment is the board's DPS enrollment as read now (nil when it could not be), its ETag
	// carried by the page's forms so that someone else's change in between is reported.
	Enrollment *dpsapi.IndividualEnrollment
	// CanChange: the user may deactivate, re-activate and edit (an activator or an admin).
	CanChange bool
	// Editable: activated, not registered, so the initial twin still reaches the device; then
	// Fields and Hubs are the organisation's form with the board's values.
	Editable bool
	Fields   []formField
	Hub      string
	Hubs     []string
	// Done is what the change just made did, after its redirect here.
	Done string
}

// board shows one board of the user's organisation: its state, metadata, hub, registration (read
// from DPS now), what may be done with it, and its history. Another organisation's board is
// "not found", as an unknown one.
func (s *Server) board(w http.ResponseWriter, r *http.Request, a *auth) {
	b, ok := s.customerBoard(w, r, a)
	if !ok {
		return
	}
	s.showBoard(w, r, a, b, http.StatusOK, nil, nil, "")
}

// customerBoard returns the path's board if it is one of the user's organisation, or answers.
func (s *Server) customerBoard(w http.ResponseWriter, r *http.Request, a *auth) (*records.FleetBoard, bool) {
	guid := strings.ToLower(r.PathValue("guid"))
	b, err := s.cfg.Store.CustomerBoard(r.Context(), a.user.Customer, guid)
	if errors.Is(err, records.ErrNotFound) {
		s.message(w, r, a, http.StatusNotFound, "Board not found", "No board of "+a.user.Customer+" has that GUID. Check it against the board's label.")
		return nil, false
	}
	if err != nil {
		s.internal(w, r, a, err)
		return nil, false
	}
	return b, true
}

// showBoard renders b's page; fe, values and hub are an edit's refused fields and what was typed.
func (s *Server) showBoard(w http.ResponseWriter, r *http.Request, a *auth, b *records.FleetBoard, status int, fe activation.FieldErrors, values map[string]string, hub string) {
	ctx := r.Context()
	guid := b.GUID
	p := boardPage{Board: b, CanChange: a.user.Role != records.RoleViewer}
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
	if s.cfg.DPS != nil && b.FleetState != records.FleetShipped {
		e, err := activation.Read(ctx, s.cfg.DPS, guid)
		if err != nil {
			s.cfg.Logger.Warn("web: enrollment read", "guid", guid, "err", err)
			p.DPSError = true
		} else {
			p.Enrollment = e
		}
	}
	if p.Enrollment != nil && b.FleetState == records.FleetActivated && !registered(p.DPS) {
		schema, hubs, err := s.orgForm(r, a.user.Customer)
		if err != nil {
			s.internal(w, r, a, err)
			return
		}
		if values == nil {
			values, hub = b.Metadata, b.Hub
		}
		p.Editable, p.Fields, p.Hubs, p.Hub = true, fields(schema, values, fe), hubs, hub
	}
	var err error
	if p.History, err = s.cfg.Store.Audit(ctx, guid); err != nil {
		s.internal(w, r, a, err)
		return
	}
	p.Done = doneNotes[r.URL.Query().Get("done")]
	s.render(w, r, status, "board", &view{Title: "Board " + guid, User: a.user, CSRF: a.ses.FormToken, Errors: fe, P: p})
}

// registered reports whether DPS's registration record says the device was assigned a hub.
func registered(st *dpsapi.DeviceRegistrationState) bool {
	return st != nil && st.Status == dpsapi.RegistrationAssigned
}

// DeactivatedNote is what deactivating means, for the page.
func (boardPage) DeactivatedNote() string { return deactivatedNote }

// RegisteredNote is why a registered board's initial twin is not edited, for the page.
func (boardPage) RegisteredNote() string { return registeredNote }

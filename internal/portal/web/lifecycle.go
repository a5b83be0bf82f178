package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
)

// What the board's page says of a deactivation and of an edit after the first boot.
const (
	deactivatedNote = "DPS refuses this board's next registration while it is deactivated. A device that has registered keeps its identity in its IoT hub and can go on connecting there until the hub's operator disables it in the hub: deactivating does not reach into the hub."
	registeredNote  = "This board has registered: its device twin lives in its IoT hub now, and a change of the enrollment's initial twin would not reach it. Change the twin in the hub (its desired properties and tags) instead."
)

// doneNotes are what the board's page says after each change, by the ?done= its redirect names.
var doneNotes = map[string]string{
	"edited":      "The metadata and hub were saved in the board's initial twin.",
	"deactivated": "The board was deactivated: its enrollment is disabled.",
	"reactivated": "The board was re-activated: its enrollment is enabled again.",
}

// lifecycleRoutes adds the changes of an activated board from its page.
func (s *Server) lifecycleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /boards/{guid}/deactivate", s.authed(s.deactivate))
	mux.HandleFunc("POST /boards/{guid}/reactivate", s.authed(s.reactivate))
	mux.HandleFunc("POST /boards/{guid}/metadata", s.authed(s.editMetadata))
}

// changeable returns the path's board if the user may change it and DPS is reachable, or
// answers.
func (s *Server) changeable(w http.ResponseWriter, r *http.Request, a *auth) (*records.FleetBoard, bool) {
	if a.user.Role == records.RoleViewer {
		s.message(w, r, a, http.StatusForbidden, "Not allowed", "Your role is viewer: ask an activator or an administrator of "+a.user.Customer+" to change this board.")
		return nil, false
	}
	if s.cfg.DPS == nil {
		s.message(w, r, a, http.StatusServiceUnavailable, "DPS unavailable", "The portal has no connection to DPS configured. Tell the portal's operator.")
		return nil, false
	}
	return s.customerBoard(w, r, a)
}

func (s *Server) changes() activation.Changes {
	return activation.Changes{Store: s.cfg.Store, DPS: s.cfg.DPS, Registrations: s.cfg.Registrations, Now: s.cfg.Now}
}

func (s *Server) who(a *auth, r *http.Request) records.Change {
	return records.Change{Actor: a.user.Email, Address: address(r)}
}

// changed answers a change: back to the board's page saying what was done (done names it in
// doneNotes), or what was refused and what to do.
func (s *Server) changed(w http.ResponseWriter, r *http.Request, a *auth, guid, done string, err error) {
	again := " Open the board's page again to see it as it is now."
	switch {
	case err == nil:
		s.cfg.Logger.Info("web: board "+done, "guid", guid, "by", a.user.Email)
		http.Redirect(w, r, "/boards/"+guid+"?done="+done, http.StatusSeeOther)
	case errors.Is(err, activation.ErrChanged):
		s.message(w, r, a, http.StatusConflict, "Changed by someone else",
			"Someone else changed this board's enrollment since its page was shown. Nothing was written."+again)
	case errors.Is(err, activation.ErrRegistered):
		s.message(w, r, a, http.StatusConflict, "Registered already", registeredNote+" Nothing was written.")
	case errors.Is(err, activation.ErrWrongState):
		s.message(w, r, a, http.StatusConflict, "Not possible now", capital(activation.Reason(err))+"."+again)
	case errors.Is(err, activation.ErrHubNotAllowed):
		s.message(w, r, a, http.StatusConflict, "Hub no longer allowed", capital(activation.Reason(err)))
	case errors.Is(err, activation.ErrNoEnrollment):
		s.message(w, r, a, http.StatusConflict, "No enrollment", "DPS holds no enrollment for this board. Tell the factory.")
	default:
		s.internal(w, r, a, err)
	}
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// deactivate disables an active board's enrollment, under the page's ETag.
func (s *Server) deactivate(w http.ResponseWriter, r *http.Request, a *auth) {
	if b, ok := s.changeable(w, r, a); ok {
		_, err := s.changes().Deactivate(r.Context(), b, r.PostFormValue("etag"), s.who(a, r))
		s.changed(w, r, a, b.GUID, "deactivated", err)
	}
}

// reactivate enables a deactivated board's enrollment again with the metadata and hub the
// records kept, under the page's ETag. No activation code: the board is the organisation's.
func (s *Server) reactivate(w http.ResponseWriter, r *http.Request, a *auth) {
	if b, ok := s.changeable(w, r, a); ok {
		_, err := s.changes().Reactivate(r.Context(), b, r.PostFormValue("etag"), s.who(a, r))
		s.changed(w, r, a, b.GUID, "reactivated", err)
	}
}

// editMetadata replaces an activated board's metadata and hub in its initial twin, under the
// page's ETag, as long as the board has not registered.
func (s *Server) editMetadata(w http.ResponseWriter, r *http.Request, a *auth) {
	b, ok := s.changeable(w, r, a)
	if !ok {
		return
	}
	schema, _, err := s.orgForm(r, a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	values := postedValues(r, schema)
	hub := r.PostFormValue(activation.FieldHub)
	_, fe, err := s.changes().Edit(r.Context(), b, r.PostFormValue("etag"), hub, values, s.who(a, r))
	if fe != nil { // values were trimmed in place
		s.showBoard(w, r, a, b, http.StatusUnprocessableEntity, fe, values, strings.ToLower(strings.TrimSpace(hub)))
		return
	}
	s.changed(w, r, a, b.GUID, "edited", err)
}

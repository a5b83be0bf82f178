package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/registration"
)

// What the board's page says of a deactivation and of an edit after the first boot.
const (
	deactivatedNote = "DPS refuses this board's next registration while it is deactivated. A device that has registered keeps its identity in its IoT hub and can go on connecting there until the hub's operator disables it in the hub: deactivating does not reach into the hub."
	registeredNote  = "This board has registered: its device twin lives in its IoT hub now, and a change of the enrollment's initial twin would not reach it. Change the twin in the hub (its desired properties and tags) instead."
)

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

// dpsChangeFailed answers a DPS write that was not made.
func (s *Server) dpsChangeFailed(w http.ResponseWriter, r *http.Request, a *auth, guid string, err error) {
	switch {
	case errors.Is(err, activation.ErrChanged):
		s.message(w, r, a, http.StatusConflict, "Changed by someone else",
			"Someone else changed this board's enrollment since its page was shown. Nothing was written. Open the board's page again to see it as it is now.")
	case errors.Is(err, activation.ErrNoEnrollment):
		s.message(w, r, a, http.StatusConflict, "No enrollment", "DPS holds no enrollment for this board. Tell the factory.")
	default:
		s.internal(w, r, a, fmt.Errorf("board %s: %w", guid, err))
	}
}

// doneNotes are what the board's page says after each change, by the ?done= its redirect names.
var doneNotes = map[string]string{
	"edited":      "The metadata and hub were saved in the board's initial twin.",
	"deactivated": "The board was deactivated: its enrollment is disabled.",
	"reactivated": "The board was re-activated: its enrollment is enabled again.",
}

// recorded finishes a change DPS took (done names it in doneNotes): recorded and audited, then
// back to the board's page.
func (s *Server) recorded(w http.ResponseWriter, r *http.Request, a *auth, guid, done string, err error) {
	if errors.Is(err, records.ErrWrongState) {
		s.message(w, r, a, http.StatusConflict, "Changed by someone else", "DPS took the change, but someone else changed this board in the portal at the same time. Open the board's page again to see it as it is now.")
		return
	}
	if err != nil {
		s.internal(w, r, a, fmt.Errorf("board %s changed in DPS but not recorded: %w", guid, err))
		return
	}
	http.Redirect(w, r, "/boards/"+guid+"?done="+done, http.StatusSeeOther)
}

func (s *Server) change(a *auth, r *http.Request, guid, detail string) records.Change {
	return records.Change{GUID: guid, Customer: a.user.Customer, Actor: a.user.Email, Detail: detail, Address: address(r)}
}

// deactivate disables an active board's enrollment, under the page's ETag.
func (s *Server) deactivate(w http.ResponseWriter, r *http.Request, a *auth) {
	b, ok := s.changeable(w, r, a)
	if !ok {
		return
	}
	if b.FleetState != records.FleetActivated && b.FleetState != records.FleetRegistered {
		s.message(w, r, a, http.StatusConflict, "Not active", "This board is "+b.FleetState+", not activated: there is nothing to deactivate.")
		return
	}
	if _, err := activation.Deactivate(r.Context(), s.cfg.DPS, b.GUID, r.PostFormValue("etag")); err != nil {
		s.dpsChangeFailed(w, r, a, b.GUID, err)
		return
	}
	detail := "provisioning disabled in DPS"
	if b.RegisteredHub != "" {
		detail += "; its identity in " + b.RegisteredHub + " stays"
	}
	s.cfg.Logger.Info("web: deactivated", "guid", b.GUID, "by", a.user.Email)
	s.recorded(w, r, a, b.GUID, "deactivated", s.cfg.Store.Deactivate(r.Context(), s.change(a, r, b.GUID, detail)))
}

// reactivate enables a deactivated board's enrollment again with the metadata and hub the
// records kept, under the page's ETag. No activation code: the board is the organisation's.
func (s *Server) reactivate(w http.ResponseWriter, r *http.Request, a *auth) {
	b, ok := s.changeable(w, r, a)
	if !ok {
		return
	}
	if b.FleetState != records.FleetDeactivated {
		s.message(w, r, a, http.StatusConflict, "Not deactivated", "This board is "+b.FleetState+", not deactivated: there is nothing to re-activate.")
		return
	}
	o, err := s.org(r.Context(), a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	if msg := activation.CheckHub(b.Hub, o.hubs); msg != "" {
		s.message(w, r, a, http.StatusConflict, "Hub no longer allowed", "The board was activated for "+b.Hub+", which the factory no longer allows your organisation. "+msg)
		return
	}
	req := o.request(b.GUID, b.Hub, r.PostFormValue("etag"), a.user.Customer, b.Metadata)
	if _, err := activation.Reactivate(r.Context(), s.cfg.DPS, req); err != nil {
		s.dpsChangeFailed(w, r, a, b.GUID, err)
		return
	}
	s.cfg.Logger.Info("web: re-activated", "guid", b.GUID, "by", a.user.Email)
	s.recorded(w, r, a, b.GUID, "reactivated", s.cfg.Store.Reactivate(r.Context(), s.change(a, r, b.GUID, "provisioning enabled again for hub "+b.Hub)))
}

// editMetadata replaces an activated board's metadata and hub in its initial twin, under the
// page's ETag, as long as the board has not registered (read from DPS now when the portal can).
func (s *Server) editMetadata(w http.ResponseWriter, r *http.Request, a *auth) {
	b, ok := s.changeable(w, r, a)
	if !ok {
		return
	}
	if b.FleetState == records.FleetActivated && s.cfg.Registrations != nil {
		st, err := registration.Check(r.Context(), s.cfg.Store, s.cfg.Registrations, b.GUID, s.cfg.Now())
		if err != nil {
			s.internal(w, r, a, err)
			return
		}
		if registered(st) {
			b.FleetState = records.FleetRegistered
		}
	}
	switch b.FleetState {
	case records.FleetActivated:
	case records.FleetRegistered:
		s.message(w, r, a, http.StatusConflict, "Registered already", registeredNote+" Nothing was written.")
		return
	default:
		s.message(w, r, a, http.StatusConflict, "Not editable", "This board is "+b.FleetState+": its metadata can be edited once it is activated, until its first boot.")
		return
	}
	o, err := s.org(r.Context(), a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	values := map[string]string{}
	for _, f := range o.schema.Fields {
		values[f.Name] = r.PostFormValue(formField{Field: f}.Input())
	}
	req := o.request(b.GUID, r.PostFormValue(activation.FieldHub), r.PostFormValue("etag"), a.user.Customer, values)
	if fe := req.Validate(); fe != nil {
		s.showBoard(w, r, a, b, http.StatusUnprocessableEntity, fe, req.Values, req.Hub)
		return
	}
	if _, err := activation.Edit(r.Context(), s.cfg.DPS, req, b.Metadata); err != nil {
		s.dpsChangeFailed(w, r, a, b.GUID, err)
		return
	}
	s.cfg.Logger.Info("web: metadata edited", "guid", b.GUID, "by", a.user.Email)
	c := s.change(a, r, b.GUID, activation.AuditDetail(req))
	c.Hub, c.Metadata = req.Hub, req.Kept()
	s.recorded(w, r, a, b.GUID, "edited", s.cfg.Store.EditMetadata(r.Context(), c))
}

package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/registration"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// metadataBody is PUT …/metadata's body.
type metadataBody struct {
	Hub      string            `json:"hub"`
	Metadata map[string]string `json:"metadata"`
}

// changeable returns the path's board and If-Match's ETag when DPS is reachable, or answers.
func (a *api) changeable(w http.ResponseWriter, r *http.Request, t *records.APIToken) (*records.FleetBoard, string, bool) {
	etag, ok := ifMatch(r.Header.Values("If-Match"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_if_match", `If-Match must be one entity tag as GET gave it in ETag (such as "IjA…"), or be left out.`, nil)
		return nil, "", false
	}
	b, ok := a.orgBoard(w, r, t)
	if !ok {
		return nil, "", false
	}
	if a.cfg.DPS == nil {
		writeError(w, http.StatusServiceUnavailable, "dps_unavailable", "The portal has no connection to DPS configured, so it cannot change enrollments. Tell the portal's operator.", nil)
		return nil, "", false
	}
	return b, etag, true
}

func wrongState(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusConflict, "wrong_state", msg, nil)
}

// changeFailed answers a DPS write that was not made.
func (a *api) changeFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, activation.ErrChanged):
		writeError(w, http.StatusConflict, "changed", "Someone else changed this board's enrollment since its ETag was read. Nothing was written; GET the board again to see it as it is now.", nil)
	case errors.Is(err, activation.ErrNoEnrollment):
		writeError(w, http.StatusConflict, "not_enrolled", "DPS holds no enrollment for this board. Tell the factory.", nil)
	default:
		a.dpsFailed(w, r, err)
	}
}

// done records a change DPS took and answers with the board as it is now.
func (a *api) done(w http.ResponseWriter, r *http.Request, t *records.APIToken, guid string, e *dpsapi.IndividualEnrollment, err error) {
	if errors.Is(err, records.ErrWrongState) {
		wrongState(w, "DPS took the change, but the board was changed in the portal at the same time: GET it to see it as it is now.")
		return
	}
	if err != nil {
		a.internal(w, r, fmt.Errorf("board %s changed in DPS but not recorded: %w", guid, err))
		return
	}
	b, err := a.cfg.Store.CustomerBoard(r.Context(), t.Customer, guid)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	setETag(w, e.ETag)
	writeJSON(w, http.StatusOK, showBoard(b, e))
}

func (a *api) change(t *records.APIToken, r *http.Request, guid, detail string) records.Change {
	return records.Change{GUID: guid, Customer: t.Customer, Actor: "api token " + t.ID + " (" + t.Name + ")", Detail: detail, Address: address(r)}
}

func (a *api) deactivate(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	b, etag, ok := a.changeable(w, r, t)
	if !ok {
		return
	}
	if b.FleetState != records.FleetActivated && b.FleetState != records.FleetRegistered {
		wrongState(w, "This board is "+b.FleetState+", not activated: there is nothing to deactivate.")
		return
	}
	e, err := activation.Deactivate(r.Context(), a.cfg.DPS, b.GUID, etag)
	if err != nil {
		a.changeFailed(w, r, err)
		return
	}
	detail := "provisioning disabled in DPS"
	if b.RegisteredHub != "" {
		detail += "; its identity in " + b.RegisteredHub + " stays"
	}
	a.done(w, r, t, b.GUID, e, a.cfg.Store.Deactivate(r.Context(), a.change(t, r, b.GUID, detail)))
}

func (a *api) reactivate(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	b, etag, ok := a.changeable(w, r, t)
	if !ok {
		return
	}
	if b.FleetState != records.FleetDeactivated {
		wrongState(w, "This board is "+b.FleetState+", not deactivated: there is nothing to re-activate.")
		return
	}
	schema, hubs, err := activation.Organisation(r.Context(), a.cfg.Store, t.Customer)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if msg := activation.CheckHub(b.Hub, hubs); msg != "" {
		writeError(w, http.StatusConflict, "hub_not_allowed", "The board was activated for "+b.Hub+", which the factory no longer allows this organisation. "+msg, nil)
		return
	}
	req := activation.Request{GUID: b.GUID, Hub: b.Hub, ETag: etag, Customer: t.Customer, Values: b.Metadata, Schema: schema, AllowedHubs: hubs}
	e, err := activation.Reactivate(r.Context(), a.cfg.DPS, req)
	if err != nil {
		a.changeFailed(w, r, err)
		return
	}
	a.done(w, r, t, b.GUID, e, a.cfg.Store.Reactivate(r.Context(), a.change(t, r, b.GUID, "provisioning enabled again for hub "+b.Hub)))
}

func (a *api) editMetadata(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	b, etag, ok := a.changeable(w, r, t)
	if !ok {
		return
	}
	var body metadataBody
	if !readBody(w, r, &body) {
		return
	}
	if b.FleetState == records.FleetActivated && a.cfg.Registrations != nil {
		st, err := registration.Check(r.Context(), a.cfg.Store, a.cfg.Registrations, b.GUID, a.cfg.Now())
		if err != nil {
			a.dpsFailed(w, r, err)
			return
		}
		if st != nil && st.Status == dpsapi.RegistrationAssigned {
			b.FleetState = records.FleetRegistered
		}
	}
	switch b.FleetState {
	case records.FleetActivated:
	case records.FleetRegistered:
		writeError(w, http.StatusConflict, "registered", "The board has registered: its device twin lives in its IoT hub now, and a change of the enrollment's initial twin would not reach it. Change the twin in the hub instead. Nothing was written.", nil)
		return
	default:
		wrongState(w, "This board is "+b.FleetState+": its metadata can be edited once it is activated, until its first boot.")
		return
	}
	schema, hubs, err := activation.Organisation(r.Context(), a.cfg.Store, t.Customer)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	bad := map[string]string{}
	for member := range body.Metadata {
		if schema.Field(member) == nil {
			bad["metadata."+member] = "Not a field of this organisation's activation form (its admins set the form at /admin/form)."
		}
	}
	req := activation.Request{GUID: b.GUID, Hub: body.Hub, ETag: etag, Customer: t.Customer, Values: body.Metadata, Schema: schema, AllowedHubs: hubs}
	req.Normalize()
	for f, msg := range req.Validate() {
		bad[errorField(f)] = msg
	}
	if len(bad) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_fields", "Some fields are not right: see fields.", bad)
		return
	}
	e, err := activation.Edit(r.Context(), a.cfg.DPS, req, b.Metadata)
	if err != nil {
		a.changeFailed(w, r, err)
		return
	}
	c := a.change(t, r, b.GUID, activation.AuditDetail(req))
	c.Hub, c.Metadata = req.Hub, req.Kept()
	a.done(w, r, t, b.GUID, e, a.cfg.Store.EditMetadata(r.Context(), c))
}

package api

import (
	"errors"
	"net/http"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
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

func (a *api) changes() activation.Changes {
	return activation.Changes{Store: a.cfg.Store, DPS: a.cfg.DPS, Registrations: a.cfg.Registrations, Now: a.cfg.Now}
}

func who(t *records.APIToken, r *http.Request) records.Change {
	return records.Change{Actor: "api token " + t.ID + " (" + t.Name + ")", Address: address(r)}
}

// changed answers a change: the board as it is now, or what was refused and what to do.
func (a *api) changed(w http.ResponseWriter, r *http.Request, t *records.APIToken, guid string, e *dpsapi.IndividualEnrollment, err error) {
	again := " GET the board to see it as it is now."
	switch {
	case err == nil:
		b, err := a.cfg.Store.CustomerBoard(r.Context(), t.Customer, guid)
		if err != nil {
			a.internal(w, r, err)
			return
		}
		setETag(w, e.ETag)
		writeJSON(w, http.StatusOK, showBoard(b, e))
	case errors.Is(err, activation.ErrChanged):
		writeError(w, http.StatusConflict, "changed", "Someone else changed this board's enrollment since its ETag was read. Nothing was written;"+again, nil)
	case errors.Is(err, activation.ErrRegistered):
		writeError(w, http.StatusConflict, "registered", "The board has registered: its device twin lives in its IoT hub now, and a change of the enrollment's initial twin would not reach it. Change the twin in the hub instead. Nothing was written.", nil)
	case errors.Is(err, activation.ErrWrongState):
		writeError(w, http.StatusConflict, "wrong_state", "Not possible now: "+activation.Reason(err)+"."+again, nil)
	case errors.Is(err, activation.ErrHubNotAllowed):
		writeError(w, http.StatusConflict, "hub_not_allowed", activation.Reason(err), nil)
	case errors.Is(err, activation.ErrNoEnrollment):
		writeError(w, http.StatusConflict, "not_enrolled", "DPS holds no enrollment for this board. Tell the factory.", nil)
	default:
		a.dpsFailed(w, r, err)
	}
}

func (a *api) deactivate(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	if b, etag, ok := a.changeable(w, r, t); ok {
		e, err := a.changes().Deactivate(r.Context(), b, etag, who(t, r))
		a.changed(w, r, t, b.GUID, e, err)
	}
}

func (a *api) reactivate(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	if b, etag, ok := a.changeable(w, r, t); ok {
		e, err := a.changes().Reactivate(r.Context(), b, etag, who(t, r))
		a.changed(w, r, t, b.GUID, e, err)
	}
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
	e, fe, err := a.changes().Edit(r.Context(), b, etag, body.Hub, body.Metadata, who(t, r))
	if fe != nil {
		bad := map[string]string{}
		for f, msg := range fe {
			bad[errorField(f)] = msg
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid_fields", "Some fields are not right: see fields.", bad)
		return
	}
	a.changed(w, r, t, b.GUID, e, err)
}

package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

type activatePage struct {
	GUID, Code, ETag string
	// Fields are the organisation's form with what was typed; Hubs the hubs it may choose.
	Fields      []formField
	Hub         string
	Hubs        []string
	CanActivate bool
	Board       *records.Board
	Enrollment  *dpsapi.IndividualEnrollment
}

// formField is one field of the activation form as the page shows it.
type formField struct {
	activation.Field
	Value, Error string
}

// Input is the field's input name and id: prefixed, so that no field's name is one of the
// form's own (guid, code, csrf…).
func (f formField) Input() string { return "m_" + f.Name }

// orgForm returns the organisation's metadata form and the hubs the factory allows it.
func (s *Server) orgForm(r *http.Request, customer string) (*activation.Schema, []string, error) {
	return activation.Organisation(r.Context(), s.cfg.Store, customer)
}

// postedValues are the form's fields as the page posted them, by field name.
func postedValues(r *http.Request, schema *activation.Schema) map[string]string {
	values := map[string]string{}
	for _, f := range schema.Fields {
		values[f.Name] = r.PostFormValue(formField{Field: f}.Input())
	}
	return values
}

// fields pairs the form's fields with values and errors.
func fields(schema *activation.Schema, values map[string]string, fe activation.FieldErrors) []formField {
	out := make([]formField, len(schema.Fields))
	for i, f := range schema.Fields {
		out[i] = formField{Field: f, Value: values[f.Name], Error: fe[f.Name]}
	}
	return out
}

// notFound is the one answer for a board not shipped to the user's organisation, an unknown
// board, a wrong code and a spent one: no answer tells another organisation's boards apart.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request, a *auth, guid string) {
	// The organisation's own board activated already (its code spent) is shown in its list
	// anyway: say so, and where to change it, rather than "not found".
	if b, err := s.cfg.Store.CustomerBoard(r.Context(), a.user.Customer, guid); err == nil && b.FleetState != records.FleetShipped {
		s.render(w, r, http.StatusNotFound, "activated", &view{Title: "Activated already", User: a.user, CSRF: a.ses.FormToken, P: b})
		return
	}
	s.message(w, r, a, http.StatusNotFound, "Board not found",
		"No board of "+a.user.Customer+" has that GUID and activation code. Check both against the board's label; each code activates its board once.")
}

// check spends one attempt from each budget and reports whether guid is a board of a's
// organisation whose activation code is code; it has answered the request when it returns
// false.
func (s *Server) check(w http.ResponseWriter, r *http.Request, a *auth, guid, code string) (*records.Board, bool) {
	b, err := activation.Check(r.Context(), s.cfg.Store, s.attempts(), a.user.Email, address(r), a.user.Customer, guid, code)
	switch {
	case errors.Is(err, activation.ErrTooManyAttempts):
		s.tooMany(w, r, a, err)
	case errors.Is(err, activation.ErrNotFound):
		s.notFound(w, r, a, guid)
	case err != nil:
		s.internal(w, r, a, err)
	default:
		return b, true
	}
	return nil, false
}

// tooMany answers an attempt refused by a spent budget: 429, with Retry-After saying when the
// next attempt is allowed.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, a *auth, err error) {
	secs := activation.RetryAfter(err)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.message(w, r, a, http.StatusTooManyRequests, "Too many attempts",
		fmt.Sprintf("Too many activation attempts. Wait %d seconds, then try again. Repeated wrong codes are reported to your organisation's administrators.", secs))
}

// attempts are the budgets activation-code checks spend from, the API's as well as the pages'.
func (s *Server) attempts() activation.Attempts {
	return activation.Attempts{Account: s.cfg.Limits.Account, Board: s.cfg.Limits.Board, Address: s.cfg.Limits.Address}
}

func (s *Server) activateForm(w http.ResponseWriter, r *http.Request, a *auth) {
	q := r.URL.Query()
	guid, code := strings.ToLower(strings.TrimSpace(q.Get("guid"))), strings.TrimSpace(q.Get("code"))
	if code == "" {
		s.render(w, r, http.StatusOK, "lookup", &view{Title: "Activate a board", User: a.user, CSRF: a.ses.FormToken, P: activatePage{GUID: guid}})
		return
	}
	b, ok := s.check(w, r, a, guid, code)
	if !ok {
		return
	}
	schema, hubs, err := s.orgForm(r, a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	p := activatePage{GUID: guid, Code: code, Board: b, CanActivate: a.user.Role != records.RoleViewer, Fields: fields(schema, nil, nil), Hubs: hubs}
	if !s.readEnrollment(w, r, a, &p) {
		return
	}
	p.ETag = p.Enrollment.ETag
	s.render(w, r, http.StatusOK, "activate", &view{Title: "Activate board", User: a.user, CSRF: a.ses.FormToken, P: p})
}

// readEnrollment fills p.Enrollment from DPS, or answers the request and returns false.
func (s *Server) readEnrollment(w http.ResponseWriter, r *http.Request, a *auth, p *activatePage) bool {
	if s.cfg.DPS == nil {
		s.message(w, r, a, http.StatusServiceUnavailable, "Activation unavailable", "The portal has no connection to DPS configured. Tell the portal's operator.")
		return false
	}
	e, err := activation.Read(r.Context(), s.cfg.DPS, p.GUID)
	if errors.Is(err, activation.ErrNoEnrollment) {
		s.message(w, r, a, http.StatusConflict, "Not ready yet", "The factory has not pre-enrolled this board in DPS yet. Try again later.")
		return false
	}
	if err != nil {
		s.internal(w, r, a, err)
		return false
	}
	p.Enrollment = e
	return true
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request, a *auth) {
	p := activatePage{
		GUID: strings.ToLower(strings.TrimSpace(r.PostFormValue("guid"))), Code: strings.TrimSpace(r.PostFormValue("code")),
		ETag: r.PostFormValue("etag"), Hub: r.PostFormValue(activation.FieldHub),
	}
	b, ok := s.check(w, r, a, p.GUID, p.Code)
	if !ok {
		return
	}
	p.Board = b
	if a.user.Role == records.RoleViewer {
		s.message(w, r, a, http.StatusForbidden, "Not allowed", "Your role is viewer: ask an activator or an administrator of "+a.user.Customer+" to activate this board.")
		return
	}
	schema, hubs, err := s.orgForm(r, a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	values := postedValues(r, schema)
	req := activation.Request{GUID: p.GUID, Hub: p.Hub, ETag: p.ETag, Customer: a.user.Customer,
		Values: values, Schema: schema, AllowedHubs: hubs}
	req.Normalize()
	if fe := req.Validate(); fe != nil {
		p.CanActivate, p.Fields, p.Hubs, p.Hub = true, fields(schema, req.Values, fe), hubs, req.Hub
		if !s.readEnrollment(w, r, a, &p) {
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, "activate", &view{Title: "Activate board", User: a.user, CSRF: a.ses.FormToken, Errors: fe, P: p})
		return
	}
	e, err := activation.Activate(r.Context(), s.cfg.DPS, req)
	if errors.Is(err, activation.ErrChanged) {
		s.message(w, r, a, http.StatusConflict, "Changed by someone else",
			"Someone else changed this board's enrollment since the form was shown. Nothing was written. Open the label's link again to see it as it is now.")
		return
	}
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	if _, err := s.cfg.Store.Activate(r.Context(), records.Activation{GUID: req.GUID, Customer: a.user.Customer, CodeSHA256: label.CodeHash(p.Code),
		Hub: req.Hub, Metadata: req.Kept(), Actor: a.user.Email, Detail: activation.AuditDetail(req), Address: address(r)}); err != nil {
		// DPS holds the activation; the code could not be spent.
		s.internal(w, r, a, fmt.Errorf("board %s enabled in DPS but not recorded: %w", req.GUID, err))
		return
	}
	s.cfg.Logger.Info("web: activated", "guid", req.GUID, "by", a.user.Email, "hub", req.Hub)
	s.render(w, r, http.StatusOK, "done", &view{Title: "Board activated", User: a.user, CSRF: a.ses.FormToken,
		P: activatePage{GUID: req.GUID, Hub: e.IoTHubHostName, Fields: fields(schema, req.Values, nil)}})
}

package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/pkg/strictjson"
)

// MaxBody is the largest request body the API reads.
const MaxBody = 16 << 10

// activationBody is POST …/activation's body.
type activationBody struct {
	Code     string            `json:"code"`
	Hub      string            `json:"hub"`
	Metadata map[string]string `json:"metadata"`
}

// errorField is the body path a field error of activation's is reported under: the hub and
// the code as they are, the form's fields under metadata.
func errorField(field string) string {
	if field == activation.FieldHub {
		return field
	}
	return "metadata." + field
}

// readBody decodes a JSON body into v strictly: application/json, at most MaxBody bytes, one
// object with no unknown or repeated members. It has answered the request when it returns false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as JSON, with Content-Type: application/json.", nil)
		return false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The body is larger than %d bytes.", MaxBody), nil)
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "The body could not be read: "+err.Error()+".", nil)
		return false
	}
	if err := strictjson.Decode(data, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "The body is not the JSON object this operation takes: "+err.Error()+". See /api/v1/openapi.json.", nil)
		return false
	}
	return true
}

// ifMatch returns the entity tag of an If-Match header, "" for none or "*", or false for a value
// that is not one strong entity tag.
func ifMatch(h []string) (string, bool) {
	if len(h) == 0 {
		return "", true
	}
	if len(h) > 1 {
		return "", false
	}
	v := strings.TrimSpace(h[0])
	if v == "*" {
		return "", true
	}
	inner, ok := strings.CutPrefix(v, `"`)
	if !ok {
		return "", false
	}
	inner, ok = strings.CutSuffix(inner, `"`)
	if !ok || inner == "" || !etagChars(inner) {
		return "", false
	}
	return inner, true
}

// etagChars reports whether s is made of RFC 9110's etagc characters only.
func etagChars(s string) bool {
	for i := range len(s) {
		if c := s[i]; c != 0x21 && (c < 0x23 || c > 0x7e) {
			return false
		}
	}
	return true
}

// setETag sets the ETag header to DPS's entity tag, when it can be one.
func setETag(w http.ResponseWriter, etag string) {
	if etag != "" && etagChars(etag) {
		w.Header().Set("ETag", `"`+etag+`"`)
	}
}

func (a *api) activate(w http.ResponseWriter, r *http.Request, t *records.APIToken) {
	etag, ok := ifMatch(r.Header.Values("If-Match"))
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_if_match", `If-Match must be one entity tag as GET gave it in ETag (such as "IjA…"), or be left out.`, nil)
		return
	}
	var body activationBody
	if !readBody(w, r, &body) {
		return
	}
	schema, hubs, err := activation.Organisation(r.Context(), a.cfg.Store, t.Customer)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	req := activation.Request{GUID: strings.ToLower(r.PathValue("guid")), Hub: body.Hub, ETag: etag, Customer: t.Customer,
		Values: body.Metadata, Schema: schema, AllowedHubs: hubs}
	bad := map[string]string{}
	for member := range body.Metadata {
		if schema.Field(member) == nil {
			bad["metadata."+member] = "Not a field of this organisation's activation form (its admins set the form at /admin/form)."
		}
	}
	code := strings.TrimSpace(body.Code)
	if code == "" {
		bad["code"] = "Give the activation code printed on the board's label."
	}
	if len(bad) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_fields", "Some fields are not right: see fields.", bad)
		return
	}
	_, err = activation.Check(r.Context(), a.cfg.Store, a.cfg.Attempts, "api-token:"+t.ID, address(r), t.Customer, req.GUID, code)
	switch {
	case errors.Is(err, activation.ErrTooManyAttempts):
		secs := activation.RetryAfter(err)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "too_many_attempts",
			fmt.Sprintf("Too many activation attempts. Wait %d seconds (Retry-After), then try again. Repeated wrong codes are reported to the organisation's administrators.", secs), nil)
		return
	case errors.Is(err, activation.ErrNotFound):
		notFound(w, t)
		return
	case err != nil:
		a.internal(w, r, err)
		return
	}
	req.Normalize()
	if fe := req.Validate(); fe != nil {
		for f, msg := range fe {
			bad[errorField(f)] = msg
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid_fields", "Some fields are not right: see fields.", bad)
		return
	}
	if a.cfg.DPS == nil {
		writeError(w, http.StatusServiceUnavailable, "dps_unavailable", "The portal has no connection to DPS configured, so it cannot activate. Tell the portal's operator.", nil)
		return
	}
	e, err := activation.Activate(r.Context(), a.cfg.DPS, req)
	switch {
	case errors.Is(err, activation.ErrChanged):
		writeError(w, http.StatusConflict, "changed", "Someone else changed this board's enrollment since its ETag was read. Nothing was written; GET the board again to see it as it is now.", nil)
		return
	case errors.Is(err, activation.ErrNoEnrollment):
		writeError(w, http.StatusConflict, "not_enrolled", "The factory has not pre-enrolled this board in DPS yet. Try again later.", nil)
		return
	case err != nil:
		a.dpsFailed(w, r, err)
		return
	}
	who := "api token " + t.ID + " (" + t.Name + ")"
	after, err := a.cfg.Store.Activate(r.Context(), records.Activation{GUID: req.GUID, Customer: t.Customer, CodeSHA256: label.CodeHash(code),
		Hub: req.Hub, Metadata: req.Kept(), Actor: who, Detail: activation.AuditDetail(req), Address: address(r)})
	if err != nil {
		// DPS holds the activation; the code could not be spent.
		a.internal(w, r, fmt.Errorf("board %s enabled in DPS but not recorded: %w", req.GUID, err))
		return
	}
	a.cfg.Logger.Info("api: activated", "guid", req.GUID, "by", who, "hub", req.Hub)
	setETag(w, e.ETag)
	writeJSON(w, http.StatusOK, showBoard(after, e))
}

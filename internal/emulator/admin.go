package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// AdminOptions configure the admin handler.
type AdminOptions struct {
	// Faults is the fault configuration the handler reads and changes.
	Faults *Faults
	// Store receives registration states seeded through the handler; nil disables that resource.
	Store *store.Store
	// Token is the bearer token callers must present; empty refuses every caller.
	Token string
	// Logger records refusals and changes; nil discards them.
	Logger *slog.Logger
}

// AdminHandler serves the emulator's control API to local callers holding the admin token:
//
//	GET|PUT|DELETE /admin/faults            read, replace or clear the fault configuration
//	PUT /admin/registrations/{id}           seed a device registration state (until the device
//	                                        registration API exists, tests and demos use this)
//
// A request from a non-loopback peer is refused with 403 whatever it carries, and one without
// "Authorization: Bearer <token>" with 401. Serve it on its own loopback listener, apart from the
// service API, so that no client of the service can reach it.
func AdminHandler(opts AdminOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &adminHandler{faults: opts.Faults, store: opts.Store, token: opts.Token, log: opts.Logger}
}

type adminHandler struct {
	faults *Faults
	store  *store.Store
	token  string
	log    *slog.Logger
}

func (a *adminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if !loopbackPeer(r.RemoteAddr) {
		a.log.Warn("admin request refused: not a loopback peer", "remote", r.RemoteAddr, "path", r.URL.Path)
		httpapi.WriteError(w, now, &httpapi.Error{Status: http.StatusForbidden, Code: 403001, Message: "The admin endpoint only answers loopback callers."})
		return
	}
	if !a.authorized(r.Header.Get("Authorization")) {
		a.log.Warn("admin request refused: bad token", "remote", r.RemoteAddr, "path", r.URL.Path)
		httpapi.WriteError(w, now, &httpapi.Error{Status: http.StatusUnauthorized, Code: httpapi.CodeUnauthorized, Message: "Send Authorization: Bearer <the token in the data directory's admin-token file>."})
		return
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/admin/registrations/"); ok && a.store != nil {
		a.seedRegistration(w, r, id)
		return
	}
	if r.URL.Path != "/admin/faults" {
		httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeNotFound, "Unknown admin resource; use /admin/faults or /admin/registrations/{id}."))
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		var cfg FaultConfig
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeMalformedBody, "The body is not a fault configuration: %s", quote.Short(err.Error())))
			return
		}
		if err := a.faults.Set(cfg); err != nil {
			httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeInvalidArgument, "%s", err))
			return
		}
		a.log.Info("faults set", "config", cfg)
	case http.MethodDelete:
		_ = a.faults.Set(FaultConfig{})
		a.log.Info("faults cleared")
	default:
		httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeMethodNotAllowed, "Use GET, PUT or DELETE on /admin/faults."))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, a.faults.Status())
}

// seedRegistration serves PUT /admin/registrations/{id}: it stores the registration state in the
// body (registrationId taken from the path) and returns it as stored.
func (a *adminHandler) seedRegistration(w http.ResponseWriter, r *http.Request, id string) {
	now := time.Now()
	if r.Method != http.MethodPut {
		httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeMethodNotAllowed, "Use PUT on /admin/registrations/{id}."))
		return
	}
	if !validRegistrationID(id) {
		httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeInvalidArgument, "Registration ID %q is invalid.", quote.Short(id)))
		return
	}
	var st dpsapi.DeviceRegistrationState
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeMalformedBody, "The body is not a registration state: %s", quote.Short(err.Error())))
		return
	}
	st.RegistrationID = id
	out, err := a.store.PutRegistrationState(r.Context(), st)
	if err != nil {
		a.log.Error("seed registration state", "err", err)
		httpapi.WriteError(w, now, httpapi.Errorf(httpapi.CodeInternal, "The registration state could not be stored."))
		return
	}
	a.log.Info("registration state seeded", "registrationId", id, "status", st.Status)
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (a *adminHandler) authorized(h string) bool {
	const prefix = "Bearer "
	if a.token == "" || !strings.HasPrefix(h, prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[len(prefix):]), []byte(a.token)) == 1
}

// loopbackPeer reports whether a request's remote address is a loopback address.
func loopbackPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Package api is the activation portal's JSON API for customer organisations' own systems, under
// /api/v1/: their boards listed and read, and boards activated with the same checks, attempt
// budgets and DPS change as the portal's form. Requests authenticate with an API token in
// Authorization: Bearer (never a cookie); the OpenAPI 3.1 document is served at
// /api/v1/openapi.json.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/apitoken"
	"github.com/oobtpm/oob/internal/portal/registration"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

//go:embed openapi.json
var openAPI []byte

// Config is what the API needs.
type Config struct {
	Store *records.Store
	// DPS is the service client; nil answers activation with 503.
	DPS    activation.Enrollments
	Logger *slog.Logger
	// Attempts are the activation-code budgets, shared with the portal's pages.
	Attempts activation.Attempts
	// Registrations, when set, is asked before a metadata edit whether the board has
	// registered (the DPS service client).
	Registrations registration.States
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

type api struct {
	cfg Config
	mux *http.ServeMux
}

// route is one operation: the router is made from this table, and the OpenAPI document is
// tested against it.
type route struct {
	method, path string
	// role is the least role a token needs; "" is none (no token).
	role    string
	handler func(*api, http.ResponseWriter, *http.Request, *records.APIToken)
}

var routes = []route{
	{http.MethodGet, Prefix + "openapi.json", "", (*api).openAPI},
	{http.MethodGet, Prefix + "boards", records.RoleViewer, (*api).listBoards},
	{http.MethodGet, Prefix + "boards/{guid}", records.RoleViewer, (*api).getBoard},
	{http.MethodPost, Prefix + "boards/{guid}/activation", records.RoleActivator, (*api).activate},
	{http.MethodPost, Prefix + "boards/{guid}/deactivation", records.RoleActivator, (*api).deactivate},
	{http.MethodPost, Prefix + "boards/{guid}/reactivation", records.RoleActivator, (*api).reactivate},
	{http.MethodPut, Prefix + "boards/{guid}/metadata", records.RoleActivator, (*api).editMetadata},
}

// New returns the API's handler, to be mounted at Prefix.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &api{cfg: cfg, mux: http.NewServeMux()}
	for _, rt := range routes {
		a.mux.HandleFunc(rt.method+" "+rt.path, a.authed(rt))
	}
	a.mux.HandleFunc(Prefix, a.unrouted)
	return a.mux
}

func (a *api) openAPI(w http.ResponseWriter, _ *http.Request, _ *records.APIToken) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}

// unrouted answers a path no route has (404) or a method the path's routes do not take (405),
// in JSON like every other answer.
func (a *api) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := a.mux.Handler(probe); p != "" && p != Prefix {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not an operation of "+r.URL.Path+": use "+strings.Join(allow, " or ")+".", nil)
		return
	}
	writeError(w, http.StatusNotFound, "no_such_path", r.URL.Path+" is not a path of the API: see /api/v1/openapi.json.", nil)
}

// authed wraps a route's handler: the bearer token must be a live token of a role at least
// rt.role. Cookies are never read, so a browser's session cannot call the API.
func (a *api) authed(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rt.role == "" {
			rt.handler(a, w, r, nil)
			return
		}
		t, err := a.token(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			var unauth *unauthorized
			if errors.As(err, &unauth) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="oob-portal"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", unauth.msg, nil)
				return
			}
			a.internal(w, r, err)
			return
		}
		if rt.role == records.RoleActivator && t.Role != records.RoleActivator {
			writeError(w, http.StatusForbidden, "forbidden", "This token's role is "+t.Role+": activating, deactivating and editing a board need a token with the role activator.", nil)
			return
		}
		rt.handler(a, w, r, t)
	}
}

type unauthorized struct{ msg string }

func (u *unauthorized) Error() string { return u.msg }

// token returns the live token the Authorization header carries, an *unauthorized error for a
// missing, malformed, unknown or revoked one, or another error when the records cannot say.
func (a *api) token(ctx context.Context, header string) (*records.APIToken, error) {
	secret, err := apitoken.FromHeader(header)
	if err != nil {
		msg := "Send an API token in the header Authorization: Bearer oobp_… (tokens are made with oob-portal token create)."
		if errors.Is(err, apitoken.ErrMalformed) {
			msg = "The bearer value is not an API token: a token is oobp_ and 43 letters, digits, - or _."
		}
		return nil, &unauthorized{msg}
	}
	t, err := a.cfg.Store.APITokenByHash(ctx, apitoken.Hash(secret))
	if errors.Is(err, records.ErrNotFound) {
		return nil, &unauthorized{"This API token is unknown or revoked: ask the portal's operator for a new one."}
	}
	if err != nil {
		return nil, err
	}
	// A write per minute at most keeps "last used" right without a write per request.
	if now := a.cfg.Now(); now.Sub(t.LastUsedAt) > time.Minute {
		if err := a.cfg.Store.TouchAPIToken(ctx, t.ID, now); err != nil {
			a.cfg.Logger.Warn("api: recording a token's last use", "token", t.ID, "err", err)
		}
	}
	return t, nil
}

// problem is the body of every error answer.
type problem struct {
	Error problemBody `json:"error"`
}

type problemBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string, fields map[string]string) {
	writeJSON(w, status, problem{problemBody{code, message, fields}})
}

func (a *api) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.cfg.Logger.Error("api: "+r.Method+" "+r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "The portal could not complete this request. Try again; if it keeps failing, tell the portal's operator the time it happened.", nil)
}

// address is the client's IP address, the TCP peer's (as the portal's pages count it).
func address(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

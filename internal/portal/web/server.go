// Package web is the activation portal's HTTP side: invitations, sign-in, the organisation's
// boards and their activation, and its administrators' pages (users, the activation form, the
// audit trail), as server-rendered HTML that needs no JavaScript.
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/api"
	"github.com/oobtpm/oob/internal/portal/password"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
	"github.com/oobtpm/oob/internal/portal/registration"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Defaults of Config's durations.
const (
	DefaultIdle   = 30 * time.Minute
	DefaultMaxAge = 12 * time.Hour
)

// Limits are the attempt budgets: activation-code checks per account, per board and per client
// address, and sign-ins per e-mail address (with the address budget shared).
type Limits struct {
	Account, Board, Address, Login *ratelimit.Limiter
}

// DefaultLimits allow a burst of attempts, then: one per 30 s per account, one per minute per
// board, one per 10 s per address, one sign-in per minute per e-mail address.
func DefaultLimits() Limits {
	return Limits{
		Account: ratelimit.New(20, 30*time.Second),
		Board:   ratelimit.New(10, time.Minute),
		Address: ratelimit.New(30, 10*time.Second),
		Login:   ratelimit.New(10, time.Minute),
	}
}

// Config is what a Server needs.
type Config struct {
	Store *records.Store
	// DPS is the service client activations go through; nil shows activation as unavailable.
	DPS    activation.Enrollments
	Logger *slog.Logger
	// Idle and MaxAge end a session unused for Idle or older than MaxAge (defaults above).
	Idle, MaxAge time.Duration
	// Limits are the attempt budgets; zero fields get DefaultLimits'.
	Limits Limits
	// Registrations, when set, is read for a board's page (the DPS service client).
	Registrations registration.States
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Server serves the portal. Make it with New.
type Server struct {
	cfg       Config
	pages     map[string]*template.Template
	dummyHash string
	handler   http.Handler
}

var pageNames = []string{"login", "invite", "boards", "lookup", "activate", "done", "message", "board", "import", "report", "activated"}

// New parses the templates and returns the portal's server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("web: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Idle == 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := DefaultLimits()
	for _, l := range []struct {
		dst **ratelimit.Limiter
		def *ratelimit.Limiter
	}{
		{&cfg.Limits.Account, def.Account}, {&cfg.Limits.Board, def.Board}, {&cfg.Limits.Address, def.Address}, {&cfg.Limits.Login, def.Login},
	} {
		if *l.dst == nil {
			*l.dst = l.def
		}
	}
	s := &Server{cfg: cfg, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"inc": func(i int) int { return i + 1 },
	}
	for _, name := range append(pageNames, adminPageNames...) {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/base.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	// Signing in as someone unknown still costs one hash, so that the answer's time does not
	// tell which addresses have accounts.
	var err error
	if s.dummyHash, err = password.Hash("not anyone's password at all"); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the portal's HTTP handler: cross-origin requests that change state are
// refused (403) before any route sees them.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /style.css", http.FileServerFS(static))
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.authed(s.logout))
	mux.HandleFunc("GET /invite/{token}", s.inviteForm)
	mux.HandleFunc("POST /invite/{token}", s.acceptInvite)
	mux.HandleFunc("GET /boards", s.authed(s.boards))
	mux.HandleFunc("GET /boards/{guid}", s.authed(s.board))
	mux.HandleFunc("GET /boards/export.csv", s.authed(s.export))
	mux.HandleFunc("GET /boards/import", s.authed(s.importForm))
	mux.HandleFunc("POST /boards/import", s.importLimit(s.authed(s.importCSV)))
	mux.HandleFunc("GET /a", s.authed(s.activateForm))
	mux.HandleFunc("POST /a", s.authed(s.activate))
	s.lifecycleRoutes(mux)
	s.adminRoutes(mux)
	mux.Handle(api.Prefix, api.New(api.Config{Store: s.cfg.Store, DPS: s.cfg.DPS, Logger: s.cfg.Logger, Attempts: s.attempts(), Registrations: s.cfg.Registrations, Now: s.cfg.Now}))

	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern(api.Prefix) // bearer tokens, never cookies: nothing to forge
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, nil, http.StatusForbidden, "Request refused", "This form was sent from another site. Open the portal itself and try again.")
	}))
	return headers(cop.Handler(limitBodies(mux)))
}

// headers sets what every answer carries: no scripts, frames or foreign form targets, no
// Referer (activation URLs carry codes), no caching of pages that show an organisation's data.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		if r.URL.Path != "/style.css" {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title  string
	User   *records.User
	CSRF   string
	Errors activation.FieldErrors
	Text   string
	P      any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.pages[page].ExecuteTemplate(w, "base", v); err != nil {
		s.cfg.Logger.Error("web: render", "page", page, "err", err)
	}
}

// message shows a page with a title and a sentence.
func (s *Server) message(w http.ResponseWriter, r *http.Request, a *auth, status int, title, text string) {
	v := &view{Title: title, Text: text}
	if a != nil {
		v.User, v.CSRF = a.user, a.ses.FormToken
	}
	s.render(w, r, status, "message", v)
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, a *auth, err error) {
	s.cfg.Logger.Error("web: "+r.Method+" "+r.URL.Path, "err", err)
	s.message(w, r, a, http.StatusInternalServerError, "Something went wrong", "The portal could not complete this request. Try again; if it keeps failing, tell the portal's operator the time it happened.")
}

// address is the client's IP address. The portal faces clients directly: a proxy in front would
// make every client one address (limits would need the proxy's forwarded header, not trusted
// now).
func address(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if a := s.current(r); a != nil {
		http.Redirect(w, r, "/boards", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

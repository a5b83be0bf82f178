package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/apitoken"
)

type tokensPage struct {
	Tokens []records.APIToken
	Roles  []string
	// Secret is a new token, shown once; Name and Role what the form had.
	Secret, Name, Role string
	// Done says what the last change did; Problem why it was refused.
	Done, Problem string
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, a *auth, status int, p tokensPage, fe activation.FieldErrors) {
	var err error
	if p.Tokens, err = s.cfg.Store.APITokens(r.Context(), a.user.Customer); err != nil {
		s.internal(w, r, a, err)
		return
	}
	p.Roles = []string{records.RoleViewer, records.RoleActivator}
	if p.Role == "" {
		p.Role = records.RoleViewer
	}
	// A page holding a secret is not kept by the browser's cache.
	if p.Secret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.render(w, r, status, "admin-tokens", &view{Title: "API tokens of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken, Errors: fe, P: p})
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request, a *auth) {
	p := tokensPage{}
	if r.URL.Query().Get("done") == "revoked" {
		p.Done = "The token was revoked: requests carrying it are refused from now on."
	}
	s.renderTokens(w, r, a, http.StatusOK, p, nil)
}

// createToken makes a token for one of the organisation's systems and shows it once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, a *auth) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	role := r.PostFormValue("role")
	p := tokensPage{Name: name, Role: role}
	fe := activation.FieldErrors{}
	if err := apitoken.CheckName(name); err != nil {
		fe["name"] = sentence(err.Error())
	}
	if !records.ValidTokenRole(role) {
		fe["role"] = "Choose viewer or activator."
	}
	if len(fe) > 0 {
		s.renderTokens(w, r, a, http.StatusUnprocessableEntity, p, fe)
		return
	}
	secret, t := apitoken.New(a.user.Customer, name, role, a.user.Email, s.cfg.Now())
	if err := s.cfg.Store.AddAPITokenFrom(r.Context(), t, address(r)); err != nil {
		s.internal(w, r, a, err)
		return
	}
	s.renderTokens(w, r, a, http.StatusOK, tokensPage{Secret: secret, Name: name, Role: role,
		Done: "Token " + t.ID + " made for " + name + " as " + role + "."}, nil)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, a *auth) {
	id := r.PostFormValue("id")
	err := s.cfg.Store.RevokeAPITokenFrom(r.Context(), a.user.Customer, id, a.user.Email, address(r), s.cfg.Now())
	switch {
	case errors.Is(err, records.ErrNotFound):
		s.renderTokens(w, r, a, http.StatusNotFound, tokensPage{Problem: "No token " + id + " of " + a.user.Customer + " is in use: it may have been revoked already."}, nil)
	case err != nil:
		s.internal(w, r, a, err)
	default:
		http.Redirect(w, r, "/admin/tokens?done=revoked", http.StatusSeeOther)
	}
}

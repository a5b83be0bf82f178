package web

import (
	"net/http"

	"github.com/oobtpm/oob/internal/factory/records"
)

// adminPageNames are the templates of the pages adminRoutes serves.
var adminPageNames = []string{"admin-form", "admin-users", "admin-audit", "admin-tokens", "account"}

// adminRoutes adds the organisation's administration pages, admins only, and each user's own
// account page.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", s.authed(s.account))
	mux.HandleFunc("POST /account/sign-out-everywhere", s.authed(s.signOutEverywhere))
	mux.HandleFunc("GET /admin/form", s.admin(s.formEditor))
	mux.HandleFunc("POST /admin/form", s.admin(s.formEdit))
	mux.HandleFunc("GET /admin/users", s.admin(s.users))
	mux.HandleFunc("POST /admin/users/invite", s.admin(s.inviteUser))
	mux.HandleFunc("POST /admin/users/role", s.admin(s.changeRole))
	mux.HandleFunc("POST /admin/users/remove", s.admin(s.removeUser))
	mux.HandleFunc("POST /admin/users/sign-out", s.admin(s.signOutUser))
	mux.HandleFunc("GET /admin/audit", s.admin(s.audit))
	mux.HandleFunc("GET /admin/tokens", s.admin(s.tokens))
	mux.HandleFunc("POST /admin/tokens/create", s.admin(s.createToken))
	mux.HandleFunc("POST /admin/tokens/revoke", s.admin(s.revokeToken))
}

// admin wraps h for the organisation's administrators: other signed-in users get 403.
func (s *Server) admin(h func(http.ResponseWriter, *http.Request, *auth)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, a *auth) {
		if a.user.Role != records.RoleAdmin {
			s.message(w, r, a, http.StatusForbidden, "Not allowed",
				"Only an administrator of "+a.user.Customer+" may open this page; your role is "+a.user.Role+".")
			return
		}
		h(w, r, a)
	})
}

func (s *Server) account(w http.ResponseWriter, r *http.Request, a *auth) {
	s.render(w, r, http.StatusOK, "account", &view{Title: "Your account", User: a.user, CSRF: a.ses.FormToken})
}

// signOutEverywhere ends every session of the signed-in user, this one too.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request, a *auth) {
	if _, err := s.cfg.Store.EndSessions(r.Context(), a.user.Customer, a.user.Email, a.user.Email, address(r)); err != nil {
		s.internal(w, r, a, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

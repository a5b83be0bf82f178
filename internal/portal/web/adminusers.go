package web

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
)

// InviteValid is how long an invitation made in the portal works.
const InviteValid = 72 * time.Hour

type usersPage struct {
	Users   []records.User
	Invites []records.Invite
	Roles   []string
	Me      string
	// Link is a new invitation's link, shown once; Email and Role what the invite form had.
	Link, Email, Role string
	// Done says what the last change did; Problem why it was refused.
	Done, Problem string
}

// done sentences, by the ?done= a change redirects with.
var doneText = map[string]string{
	"role":      "The role was changed.",
	"removed":   "The user was removed and signed out.",
	"signedout": "The user was signed out of every browser.",
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, a *auth, status int, p usersPage, fe activation.FieldErrors) {
	var err error
	if p.Users, err = s.cfg.Store.Users(r.Context(), a.user.Customer); err == nil {
		p.Invites, err = s.cfg.Store.PendingInvites(r.Context(), a.user.Customer, s.cfg.Now())
	}
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	p.Roles = []string{records.RoleViewer, records.RoleActivator, records.RoleAdmin}
	p.Me = a.user.Email
	if p.Role == "" {
		p.Role = records.RoleActivator
	}
	s.render(w, r, status, "admin-users", &view{Title: "Users of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken, Errors: fe, P: p})
}

func (s *Server) users(w http.ResponseWriter, r *http.Request, a *auth) {
	s.renderUsers(w, r, a, http.StatusOK, usersPage{Done: doneText[r.URL.Query().Get("done")]}, nil)
}

// checkEmail says what is wrong with an e-mail address typed to invite, or "".
func checkEmail(e string) string {
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case e == "":
		return "Enter the e-mail address the user will sign in with."
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(e) > 254 ||
		strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "Not an e-mail address: give one such as ann@example.com."
	}
	return ""
}

func (s *Server) inviteUser(w http.ResponseWriter, r *http.Request, a *auth) {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	role := r.PostFormValue("role")
	p := usersPage{Email: email, Role: role}
	fe := activation.FieldErrors{}
	if msg := checkEmail(email); msg != "" {
		fe["email"] = msg
	}
	if !records.ValidRole(role) {
		fe["role"] = "Choose viewer, activator or admin."
	}
	if len(fe) == 0 {
		token, inv := NewInvite(email, a.user.Customer, role, s.cfg.Now(), InviteValid)
		err := s.cfg.Store.AddInviteFrom(r.Context(), inv, a.user.Email, address(r))
		switch {
		case errors.Is(err, records.ErrExists):
			fe["email"] = "This address cannot be invited into " + a.user.Customer + ": it belongs to a user of another organisation."
		case err != nil:
			s.internal(w, r, a, err)
			return
		default:
			p = usersPage{Link: InviteURL("https://"+r.Host, token), Email: email, Done: "Invitation made for " + email + " as " + role + "."}
		}
	}
	status := http.StatusOK
	if len(fe) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		fe = nil
	}
	s.renderUsers(w, r, a, status, p, fe)
}

// userChange applies change to the user the form names, then shows the list again: a refusal
// (the last admin, someone not of the organisation) is said on the page.
func (s *Server) userChange(w http.ResponseWriter, r *http.Request, a *auth, done string, change func(email string) error) {
	email := r.PostFormValue("email")
	err := change(email)
	switch {
	case errors.Is(err, records.ErrLastAdmin):
		s.renderUsers(w, r, a, http.StatusConflict, usersPage{Problem: email + " is the last administrator of " + a.user.Customer + ": make another user admin first."}, nil)
	case errors.Is(err, records.ErrNotFound):
		s.renderUsers(w, r, a, http.StatusNotFound, usersPage{Problem: email + " is not a user of " + a.user.Customer + "."}, nil)
	case err != nil:
		s.internal(w, r, a, err)
	default:
		switch now := s.current(r); {
		case now == nil: // the admin removed or signed out themself
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		case now.user.Role != records.RoleAdmin: // or stepped down
			http.Redirect(w, r, "/boards", http.StatusSeeOther)
		default:
			http.Redirect(w, r, "/admin/users?done="+done, http.StatusSeeOther)
		}
	}
}

func (s *Server) changeRole(w http.ResponseWriter, r *http.Request, a *auth) {
	role := r.PostFormValue("role")
	if !records.ValidRole(role) {
		s.renderUsers(w, r, a, http.StatusUnprocessableEntity, usersPage{Problem: "Choose viewer, activator or admin."}, nil)
		return
	}
	s.userChange(w, r, a, "role", func(email string) error {
		return s.cfg.Store.SetUserRole(r.Context(), a.user.Customer, email, role, a.user.Email, address(r))
	})
}

func (s *Server) removeUser(w http.ResponseWriter, r *http.Request, a *auth) {
	s.userChange(w, r, a, "removed", func(email string) error {
		return s.cfg.Store.RemoveUser(r.Context(), a.user.Customer, email, a.user.Email, address(r))
	})
}

func (s *Server) signOutUser(w http.ResponseWriter, r *http.Request, a *auth) {
	s.userChange(w, r, a, "signedout", func(email string) error {
		_, err := s.cfg.Store.EndSessions(r.Context(), a.user.Customer, email, a.user.Email, address(r))
		return err
	})
}

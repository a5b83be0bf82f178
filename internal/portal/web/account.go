package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/activation"
	"github.com/oobtpm/oob/internal/portal/password"
)

// NewInvite returns a fresh invitation token and the invitation to record for it (only the
// token's hash is kept). The link to hand the invitee is InviteURL's.
func NewInvite(email, customer, role string, now time.Time, valid time.Duration) (string, *records.Invite) {
	token := randomToken()
	return token, &records.Invite{TokenSHA256: hashHex(token), Email: strings.ToLower(strings.TrimSpace(email)),
		Customer: customer, Role: role, CreatedAt: now, ExpiresAt: now.Add(valid)}
}

// InviteURL is the invitation link for token on the portal at base (https://HOST[:PORT][/PATH]).
func InviteURL(base, token string) string { return strings.TrimSuffix(base, "/") + "/invite/" + token }

type loginPage struct{ Email, Next string }

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", &view{Title: "Sign in", P: loginPage{Next: r.URL.Query().Get("next")}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	pw := r.PostFormValue("password")
	p := loginPage{Email: email, Next: r.PostFormValue("next")}
	if !s.cfg.Limits.Address.Allow(address(r)) || !s.cfg.Limits.Login.Allow(email) {
		s.render(w, r, http.StatusTooManyRequests, "login", &view{Title: "Sign in", P: p,
			Text: "Too many attempts. Wait a minute, then try again."})
		return
	}
	u, err := s.cfg.Store.User(r.Context(), email)
	if errors.Is(err, records.ErrNotFound) {
		_ = password.Verify(s.dummyHash, pw)
	} else if err != nil {
		s.internal(w, r, nil, err)
		return
	}
	if u == nil || password.Verify(u.PasswordHash, pw) != nil {
		s.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in", P: p,
			Text: "Wrong e-mail address or password."})
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.internal(w, r, nil, err)
		return
	}
	http.Redirect(w, r, localPath(p.Next), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, a *auth) {
	if err := s.cfg.Store.DeleteSession(r.Context(), a.ses.IDSHA256); err != nil {
		s.internal(w, r, a, err)
		return
	}
	_ = s.cfg.Store.AuditFrom(r.Context(), a.user.Email, "signed-out", "", "", address(r))
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type invitePage struct {
	Invite *records.Invite
	Token  string
}

func (s *Server) pendingInvite(w http.ResponseWriter, r *http.Request) (*records.Invite, bool) {
	inv, err := s.cfg.Store.PendingInvite(r.Context(), hashHex(r.PathValue("token")), s.cfg.Now())
	if errors.Is(err, records.ErrInviteUsed) {
		s.message(w, r, nil, http.StatusNotFound, "Invitation not found",
			"This invitation link was used already, has expired, or was mistyped. Ask your organisation's administrator for a new one.")
		return nil, false
	}
	if err != nil {
		s.internal(w, r, nil, err)
		return nil, false
	}
	return inv, true
}

func (s *Server) inviteForm(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.pendingInvite(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "invite", &view{Title: "Set your password", P: invitePage{inv, r.PathValue("token")}})
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.pendingInvite(w, r)
	if !ok {
		return
	}
	pw, again := r.PostFormValue("password"), r.PostFormValue("again")
	fe := activation.FieldErrors{}
	hash, err := password.Hash(pw)
	switch {
	case errors.Is(err, password.ErrTooShort):
		fe["password"] = "Use at least 12 characters."
	case err != nil:
		s.internal(w, r, nil, err)
		return
	case pw != again:
		fe["again"] = "The two passwords differ."
	}
	if len(fe) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "invite", &view{Title: "Set your password", Errors: fe, P: invitePage{inv, r.PathValue("token")}})
		return
	}
	u, err := s.cfg.Store.AcceptInvite(r.Context(), inv.TokenSHA256, hash, address(r), s.cfg.Now())
	if errors.Is(err, records.ErrInviteUsed) {
		s.message(w, r, nil, http.StatusNotFound, "Invitation not found", "This invitation was used already.")
		return
	} else if err != nil {
		s.internal(w, r, nil, err)
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.internal(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/boards", http.StatusSeeOther)
}

package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
)

// The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
const cookieName = "__Host-oob-session"

// auth is a signed-in request's session and user.
type auth struct {
	ses  *records.Session
	user *records.User
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashHex is how tokens are stored: hex SHA-256, so that the database holds nothing a browser
// could present.
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// current returns the request's live session, or nil. A session idle too long or too old is
// ended.
func (s *Server) current(r *http.Request) *auth {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	ctx := r.Context()
	id := hashHex(c.Value)
	ses, err := s.cfg.Store.Session(ctx, id)
	if err != nil {
		return nil
	}
	now := s.cfg.Now()
	if now.Sub(ses.LastSeenAt) > s.cfg.Idle || now.Sub(ses.CreatedAt) > s.cfg.MaxAge {
		_ = s.cfg.Store.DeleteSession(ctx, id)
		return nil
	}
	u, err := s.cfg.Store.User(ctx, ses.Email)
	if err != nil {
		return nil
	}
	// A write per minute at most keeps the idle clock right without a write per page.
	if now.Sub(ses.LastSeenAt) > time.Minute {
		_ = s.cfg.Store.TouchSession(ctx, id, now)
	}
	return &auth{ses: ses, user: u}
}

// startSession signs u in: a new session ID (never one the browser brought), its cookie, and the
// sign-in audited.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *records.User) error {
	id := randomToken()
	now := s.cfg.Now()
	if err := s.cfg.Store.AddSession(r.Context(), &records.Session{
		IDSHA256: hashHex(id), Email: u.Email, FormToken: randomToken(), CreatedAt: now, LastSeenAt: now,
	}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.MaxAge / time.Second)})
	return s.cfg.Store.AuditFrom(r.Context(), u.Email, "signed-in", "", "", address(r))
}

// authed wraps h for signed-in users: others are sent to sign in (and back here afterwards, for
// a GET); a POST must carry the session's form token.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *auth)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := s.current(r)
		if a == nil {
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/login"+next, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(a.ses.FormToken)) != 1 {
				s.message(w, r, a, http.StatusForbidden, "Request refused", "This form is out of date. Go back, reload the page and send it again.")
				return
			}
		}
		h(w, r, a)
	}
}

// localPath returns next if it is a path on this site, else "/boards".
func localPath(next string) string {
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") {
		return next
	}
	return "/boards"
}

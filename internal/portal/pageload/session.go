package pageload

import (
	"context"
	"fmt"
	"html"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// session is one simulated user: its browser (cookies, connections) and what its last list page
// showed.
type session struct {
	cfg  Config
	user User
	rec  *recorder
	rnd  *rand.Rand
	tr   *http.Transport
	c    *http.Client
	// csrf is the session's form token, from the last page; next the list's Next link and
	// guids the boards it showed.
	csrf  string
	next  string
	guids []string
}

func newSession(cfg Config, u User, i int, rec *recorder) *session {
	jar, _ := cookiejar.New(nil)
	tr := newTransport(cfg.TLS)
	return &session{cfg: cfg, user: u, rec: rec, rnd: rand.New(rand.NewPCG(cfg.Seed, uint64(i))), tr: tr,
		c: &http.Client{Transport: tr, Jar: jar, Timeout: time.Minute,
			// Redirects are answers to check, not to follow: a page sending a signed-in user
			// to sign in again is a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (s *session) close() { s.tr.CloseIdleConnections() }

var (
	csrfRE  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nextRE  = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	boardRE = regexp.MustCompile(`<a class="guid" href="/boards/([0-9a-f-]+)">`)
)

// answer is a response read whole.
type answer struct {
	status   int
	location string
	body     string
}

// do sends req and reads the answer, timing it all.
func (s *session) do(req *http.Request) (answer, time.Time, time.Duration, error) {
	t0 := time.Now()
	res, err := s.c.Do(req)
	if err != nil {
		return answer{}, t0, 0, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return answer{}, t0, 0, err
	}
	return answer{res.StatusCode, res.Header.Get("Location"), string(body)}, t0, d, nil
}

// post sends a form as a browser does from one of the portal's own pages.
func (s *session) post(ctx context.Context, path string, form url.Values) (answer, time.Time, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{}, time.Time{}, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.cfg.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return s.do(req)
}

func (s *session) get(ctx context.Context, path string) (answer, time.Time, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL+path, nil)
	if err != nil {
		return answer{}, time.Time{}, 0, err
	}
	return s.do(req)
}

// signIn opens the login form and signs in with it; the session's cookie is kept.
func (s *session) signIn(ctx context.Context) error {
	if a, _, _, err := s.get(ctx, "/login"); err != nil || a.status != http.StatusOK {
		return fmt.Errorf("pageload: %s: the login form: %d %v", s.user.Email, a.status, err)
	}
	a, t0, d, err := s.post(ctx, "/login", url.Values{"email": {s.user.Email}, "password": {s.user.Password}, "next": {"/boards"}})
	if err != nil {
		return fmt.Errorf("pageload: %s: signing in: %w", s.user.Email, err)
	}
	if a.status != http.StatusSeeOther || a.location != "/boards" {
		return fmt.Errorf("pageload: %s could not sign in (%d, to %q): check the e-mail address and password", s.user.Email, a.status, a.location)
	}
	s.rec.add(signInKind, "/login", t0, d)
	return nil
}

// signOut sends the sign-out form with the session's form token.
func (s *session) signOut(ctx context.Context) {
	if s.csrf == "" {
		return
	}
	a, _, _, err := s.post(ctx, "/logout", url.Values{"csrf": {s.csrf}})
	if err != nil || a.status != http.StatusSeeOther || a.location != "/login" {
		s.rec.fail("%s: signing out: %d %v", s.user.Email, a.status, err)
	}
}

// browse views cfg.Requests pages, the fleet list first, the others chosen at random among what
// the user can do next, until deadline.
func (s *session) browse(ctx context.Context, deadline time.Time) {
	for i := range s.cfg.Requests {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		if s.cfg.Think > 0 {
			// Before the first page too: users signed in together arrive over the first
			// pause, as people do, rather than all at the same instant.
			pause := time.Duration(s.rnd.Int64N(int64(2 * s.cfg.Think)))
			if time.Now().Add(pause).After(deadline) {
				return
			}
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return
			}
		}
		kind, path := s.choose(i)
		a, t0, d, err := s.get(ctx, path)
		switch {
		case err != nil:
			s.rec.fail("%s: GET %s: %v", s.user.Email, path, err)
			continue
		case a.status < 200 || a.status > 299:
			s.rec.fail("%s: GET %s: %d %.200s", s.user.Email, path, a.status, a.body)
			continue
		}
		s.rec.add(kind, path, t0, d)
		if m := csrfRE.FindStringSubmatch(a.body); m != nil {
			s.csrf = html.UnescapeString(m[1])
		}
		if kind == KindFleet || kind == KindNext || kind == KindSearch {
			s.next = ""
			if m := nextRE.FindStringSubmatch(a.body); m != nil {
				s.next = html.UnescapeString(m[1])
			}
			var guids []string
			for _, m := range boardRE.FindAllStringSubmatch(a.body, -1) {
				guids = append(guids, m[1])
			}
			if len(guids) > 0 {
				s.guids = guids
			}
		}
	}
}

// choose returns the i-th page's kind and path: the list first, then, as a user goes on, the
// next page, a search, a board the list showed, a label's form, the audit trail.
func (s *session) choose(i int) (string, string) {
	if i == 0 {
		return KindFleet, "/boards"
	}
	type option struct {
		kind, path string
		weight     int
	}
	opts := []option{{KindFleet, "/boards", 1}}
	if s.next != "" {
		opts = append(opts, option{KindNext, s.next, 3})
	}
	if len(s.cfg.Searches) > 0 {
		opts = append(opts, option{KindSearch, "/boards?" + s.cfg.Searches[s.rnd.IntN(len(s.cfg.Searches))], 2})
	}
	if len(s.guids) > 0 {
		opts = append(opts, option{KindBoard, "/boards/" + s.guids[s.rnd.IntN(len(s.guids))], 3})
	}
	if len(s.user.Labels) > 0 {
		l := s.user.Labels[s.rnd.IntN(len(s.user.Labels))]
		opts = append(opts, option{KindActivate, "/a?" + url.Values{"guid": {l.GUID}, "code": {l.Code}}.Encode(), 2})
	}
	if s.user.Admin {
		opts = append(opts, option{KindAudit, "/admin/audit", 1})
	}
	total := 0
	for _, o := range opts {
		total += o.weight
	}
	n := s.rnd.IntN(total)
	for _, o := range opts {
		if n < o.weight {
			return o.kind, o.path
		}
		n -= o.weight
	}
	return KindFleet, "/boards"
}

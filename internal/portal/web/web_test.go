package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
	"github.com/oobtpm/oob/pkg/dps"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// portal is a running portal over TLS on its own store, with the emulator as DPS.
type portal struct {
	t     *testing.T
	store *records.Store
	emu   *emulatortest.Emulator
	dps   *dps.Client
	srv   *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func start(t *testing.T, s *records.Store, adjust func(*Config)) *portal {
	t.Helper()
	emu := emulatortest.Start(t)
	p := &portal{t: t, store: s, emu: emu, dps: emu.Client(t, dps.Options{}), now: time.Now()}
	cfg := Config{Store: s, DPS: p.dps, Now: p.clock}
	if adjust != nil {
		adjust(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewTLSServer(w.Handler())
	t.Cleanup(p.srv.Close)
	return p
}

func (p *portal) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now
}

func (p *portal) advance(d time.Duration) {
	p.mu.Lock()
	p.now = p.now.Add(d)
	p.mu.Unlock()
}

// browser is one user's HTTP client with its cookies.
type browser struct {
	p *portal
	c *http.Client
}

func (p *portal) browser() *browser {
	jar, _ := cookiejar.New(nil)
	// A copy of the server's client (its TLS trust), each browser with its own cookies.
	c := *p.srv.Client()
	c.Jar = jar
	return &browser{p, &c}
}

type page struct {
	status int
	body   string
	url    string
}

func (b *browser) do(req *http.Request) page {
	b.p.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.p.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, string(body), res.Request.URL.Path}
}

func (b *browser) get(path string) page {
	b.p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.p.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends for a form of the same site.
	req.Header.Set("Origin", b.p.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var etagRE = regexp.MustCompile(`name="etag" value="([^"]*)"`)

func field(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in the page:\n%s", re, body)
	}
	return strings.ReplaceAll(m[1], "&#34;", `"`)
}

// user invites email into customer with role and sets its password through the invitation page,
// signed in afterwards.
func (p *portal) user(email, customer, role string) *browser {
	p.t.Helper()
	token, inv := NewInvite(email, customer, role, p.clock(), time.Hour)
	_ = p.store.AddCustomer(context.Background(), customer)
	if err := p.store.AddInvite(context.Background(), inv, "test"); err != nil {
		p.t.Fatal(err)
	}
	b := p.browser()
	if pg := b.get("/invite/" + token); pg.status != 200 || !strings.Contains(pg.body, customer) {
		p.t.Fatalf("invitation page: %d %s", pg.status, pg.body)
	}
	if pg := b.post("/invite/"+token, url.Values{"password": {"a long passphrase"}, "again": {"a long passphrase"}}); pg.url != "/boards" {
		p.t.Fatalf("after setting the password: %s %d %s", pg.url, pg.status, pg.body)
	}
	return b
}

func activateForm(guid, code, csrf, etag, location, chassis, hub string) url.Values {
	return url.Values{"guid": {guid}, "code": {code}, "csrf": {csrf}, "etag": {etag}, "m_location": {location}, "m_chassisNumber": {chassis}, "hub": {hub}}
}

// allowHubs records customer (if need be) and allows it hubs, as `oob-factory customer hub add`.
func allowHubs(t *testing.T, s *records.Store, customer string, hubs ...string) {
	t.Helper()
	_ = s.AddCustomer(context.Background(), customer)
	for _, h := range hubs {
		if err := s.AddCustomerHub(context.Background(), customer, h, "factory"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestActivateThroughTheLabelURL(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		allowHubs(t, s, "acme", "hub-1.azure-devices.net", "hub-2.azure-devices.net")
		ann := p.user("Ann@acme.example", "acme", records.RoleActivator)
		mine := portaltest.ShipBoard(t, s, p.emu, "acme")
		theirs := portaltest.ShipBoard(t, s, p.emu, "globex")

		form := ann.get("/a?guid=" + mine.GUID + "&code=" + url.QueryEscape(mine.Code))
		if form.status != 200 || !strings.Contains(form.body, "Chassis number") {
			t.Fatalf("activation form: %d %s", form.status, form.body)
		}
		csrf, etag := field(t, csrfRE, form.body), field(t, etagRE, form.body)

		bad := ann.post("/a", activateForm(mine.GUID, mine.Code, csrf, etag, "", "CH-1", "not a host"))
		if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="m_location-error"`) || !strings.Contains(bad.body, `id="hub-error"`) {
			t.Fatalf("invalid fields: %d %s", bad.status, bad.body)
		}
		if e, _ := p.dps.GetEnrollment(t.Context(), mine.GUID); e.ProvisioningStatus != "disabled" {
			t.Fatal("an invalid form changed the enrollment")
		}

		done := ann.post("/a", activateForm(mine.GUID, mine.Code, csrf, etag, "Hall 3", "CH-0042", "hub-1.azure-devices.net"))
		if done.status != 200 || !strings.Contains(done.body, "is activated") {
			t.Fatalf("activation: %d %s", done.status, done.body)
		}
		e, err := p.dps.GetEnrollment(t.Context(), mine.GUID)
		if err != nil {
			t.Fatal(err)
		}
		var desired map[string]string
		_ = json.Unmarshal(e.InitialTwin.Properties.Desired, &desired)
		if e.ProvisioningStatus != "enabled" || e.IoTHubHostName != "hub-1.azure-devices.net" || desired["chassisNumber"] != "CH-0042" || desired["location"] != "Hall 3" {
			t.Errorf("enrollment after activation: %s %s %v", e.ProvisioningStatus, e.IoTHubHostName, desired)
		}
		b, _ := s.Board(t.Context(), mine.GUID)
		if b.State != records.StateActivated {
			t.Errorf("board state %q", b.State)
		}
		trail, _ := s.Audit(t.Context(), mine.GUID)
		if last := trail[len(trail)-1]; last.Action != "activated" || last.Actor != "ann@acme.example" || last.Address != "127.0.0.1" || !strings.Contains(last.Detail, "CH-0042") {
			t.Errorf("audit: %+v", last)
		}

		// The code is spent: the label's link says the board is activated already, and where
		// to change it. Another organisation's board and a wrong code look the same.
		if pg := ann.get("/a?guid=" + mine.GUID + "&code=" + url.QueryEscape(mine.Code)); pg.status != http.StatusNotFound ||
			!strings.Contains(pg.body, `id="activated-already"`) || !strings.Contains(pg.body, `href="/boards/`+mine.GUID+`"`) {
			t.Errorf("spent code: %d %s", pg.status, pg.body)
		}
		for name, path := range map[string]string{
			"another org's board": "/a?guid=" + theirs.GUID + "&code=" + url.QueryEscape(theirs.Code),
			"wrong code":          "/a?guid=" + theirs.GUID + "&code=AAAAAAAA-AAAAAAAA",
			"unknown board":       "/a?guid=ffffffff-0000-0000-0000-000000000000&code=AAAAAAAA-AAAAAAAA",
		} {
			pg := ann.get(path)
			if pg.status != http.StatusNotFound || !strings.Contains(pg.body, "Board not found") {
				t.Errorf("%s: %d %s", name, pg.status, pg.body)
			}
		}
		again := ann.post("/a", activateForm(mine.GUID, mine.Code, csrf, "", "Elsewhere", "CH-9", "hub-2.azure-devices.net"))
		if again.status != http.StatusNotFound {
			t.Errorf("second activation with the spent code: %d", again.status)
		}
		if e2, _ := p.dps.GetEnrollment(t.Context(), mine.GUID); e2.ETag != e.ETag {
			t.Error("a second activation with a spent code wrote to DPS")
		}

		list := ann.get("/boards")
		if !strings.Contains(list.body, mine.GUID) || strings.Contains(list.body, theirs.GUID) || !strings.Contains(list.body, "activated") {
			t.Errorf("board list: %s", list.body)
		}
	})
}

func TestStaleFormIsReportedNotOverwritten(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		allowHubs(t, s, "acme", "hub.example.net")
		ann := p.user("ann@acme.example", "acme", records.RoleAdmin)
		b := portaltest.ShipBoard(t, s, p.emu, "acme")
		form := ann.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code))
		csrf, etag := field(t, csrfRE, form.body), field(t, etagRE, form.body)

		e, _ := p.dps.GetEnrollment(t.Context(), b.GUID)
		e.DeviceID = "set-by-someone-else"
		if _, err := p.dps.CreateOrUpdateEnrollment(t.Context(), e, e.ETag); err != nil {
			t.Fatal(err)
		}
		pg := ann.post("/a", activateForm(b.GUID, b.Code, csrf, etag, "Hall 3", "CH-1", "hub.example.net"))
		if pg.status != http.StatusConflict || !strings.Contains(pg.body, "Changed by someone else") {
			t.Fatalf("stale form: %d %s", pg.status, pg.body)
		}
		after, _ := p.dps.GetEnrollment(t.Context(), b.GUID)
		if after.DeviceID != "set-by-someone-else" || after.ProvisioningStatus != "disabled" {
			t.Errorf("the other change was overwritten: %s %s", after.DeviceID, after.ProvisioningStatus)
		}
		// Nothing was spent: the label still opens the form, now with the current version.
		if again := ann.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code)); again.status != 200 || field(t, etagRE, again.body) == etag {
			t.Errorf("reopened form: %d", again.status)
		}
	})
}

func TestRolesAndForms(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	allowHubs(t, s, "acme", "hub.example.net")
	vic := p.user("vic@acme.example", "acme", records.RoleViewer)
	b := portaltest.ShipBoard(t, s, p.emu, "acme")

	form := vic.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code))
	if form.status != 200 || strings.Contains(form.body, `name="etag"`) || !strings.Contains(form.body, "Your role is viewer") {
		t.Errorf("viewer's activation page: %d %s", form.status, form.body)
	}
	csrf := field(t, csrfRE, form.body)
	if pg := vic.post("/a", activateForm(b.GUID, b.Code, csrf, "", "Hall", "CH-1", "hub.example.net")); pg.status != http.StatusForbidden {
		t.Errorf("viewer's activation: %d", pg.status)
	}

	ann := p.user("ann@acme.example", "acme", records.RoleActivator)
	form = ann.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code))
	csrf = field(t, csrfRE, form.body)
	values := activateForm(b.GUID, b.Code, csrf, "", "Hall", "CH-1", "hub.example.net")

	// Another site's form, as a browser sends it: refused before any handler runs.
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/a", strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if pg := ann.do(req); pg.status != http.StatusForbidden || !strings.Contains(pg.body, "another site") {
		t.Errorf("cross-origin POST: %d %s", pg.status, pg.body)
	}
	// The right origin without the session's form token.
	values.Set("csrf", "wrong")
	if pg := ann.post("/a", values); pg.status != http.StatusForbidden {
		t.Errorf("POST without the form token: %d", pg.status)
	}
	if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != "disabled" {
		t.Error("a refused POST enabled the enrollment")
	}

	// Signed out, the label URL leads to sign-in and back.
	out := ann.post("/logout", url.Values{"csrf": {csrf}})
	if out.url != "/login" {
		t.Fatalf("after signing out: %s", out.url)
	}
	label := "/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code)
	pg := ann.get(label)
	if pg.url != "/login" || !strings.Contains(pg.body, url.QueryEscape(b.Code)[:4]) {
		t.Fatalf("label URL signed out: %s", pg.url)
	}
	if bad := ann.post("/login", url.Values{"email": {"ann@acme.example"}, "password": {"not the password"}, "next": {label}}); bad.status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", bad.status)
	}
	if in := ann.post("/login", url.Values{"email": {"ann@acme.example"}, "password": {"a long passphrase"}, "next": {label}}); in.url != "/a" || !strings.Contains(in.body, "Chassis number") {
		t.Errorf("after signing in: %s %d", in.url, in.status)
	}
}

func TestSessionsExpire(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, func(c *Config) { c.Idle, c.MaxAge = 10*time.Minute, time.Hour })
	ann := p.user("ann@acme.example", "acme", records.RoleActivator)
	for range 6 { // used every 9 minutes, it outlives the idle limit, not the absolute one
		p.advance(9 * time.Minute)
		if pg := ann.get("/boards"); pg.url != "/boards" {
			t.Fatalf("session ended while in use, at %s", pg.url)
		}
	}
	p.advance(9 * time.Minute) // 63 minutes old
	if pg := ann.get("/boards"); pg.url != "/login" {
		t.Errorf("a session past its absolute limit: %s", pg.url)
	}
	bob := p.user("bob@acme.example", "acme", records.RoleActivator)
	p.advance(11 * time.Minute)
	if pg := bob.get("/boards"); pg.url != "/login" {
		t.Errorf("an idle session: %s", pg.url)
	}
}

func TestAttemptsAreLimitedPerBoard(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, func(c *Config) { c.Limits.Board = ratelimit.New(3, time.Hour) })
	ann := p.user("ann@acme.example", "acme", records.RoleActivator)
	bob := p.user("bob@acme.example", "acme", records.RoleActivator)
	b := portaltest.ShipBoard(t, s, p.emu, "acme")
	for i := range 3 {
		if pg := ann.get("/a?guid=" + b.GUID + "&code=AAAAAAAA-AAAAAAA" + fmt.Sprint(i)); pg.status != http.StatusNotFound {
			t.Fatalf("guess %d: %d", i, pg.status)
		}
	}
	// The board's budget is spent, whoever asks: even the right code waits.
	if pg := bob.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code)); pg.status != http.StatusTooManyRequests {
		t.Errorf("after the board's budget: %d", pg.status)
	}
}

func TestBoardListPages(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		ann := p.user("ann@acme.example", "acme", records.RoleViewer)
		ctx := context.Background()
		var guids []string
		for i := range PageSize + 2 {
			g := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			now := time.Now()
			if err := s.AddBoard(ctx, &records.Board{GUID: g, KeySHA256: g, Certificate: "c", Serial: g, Station: "s", IssuedAt: now, NotAfter: now}); err != nil {
				t.Fatal(err)
			}
			guids = append(guids, g)
		}
		if err := s.Ship(ctx, "acme", guids, "op"); err != nil {
			t.Fatal(err)
		}
		one := ann.get("/boards")
		if !strings.Contains(one.body, fmt.Sprintf("%d boards", PageSize+2)) || strings.Count(one.body, `class="guid"`) != PageSize || strings.Contains(one.body, `rel="prev"`) {
			t.Errorf("first page: %s", one.body)
		}
		two := ann.get(link(t, one.body, "next"))
		if strings.Count(two.body, `class="guid"`) != 2 || strings.Contains(two.body, `rel="next"`) {
			t.Errorf("second page: %s", two.body)
		}
		back := ann.get(link(t, two.body, "prev"))
		if strings.Count(back.body, `class="guid"`) != PageSize || strings.Contains(back.body, `rel="prev"`) {
			t.Errorf("back to the first page: %s", back.body)
		}
		for _, bad := range []string{"/boards?after=yesterday", "/boards?guid=xyz", "/boards?state=lost", "/boards?q=" + url.QueryEscape("a\nb")} {
			if pg := ann.get(bad); pg.status != http.StatusBadRequest || !strings.Contains(pg.body, `class="error"`) {
				t.Errorf("%s: %d", bad, pg.status)
			}
		}
	})
}

var linkRE = map[string]*regexp.Regexp{
	"next": regexp.MustCompile(`<a href="([^"]+)" rel="next">`),
	"prev": regexp.MustCompile(`<a href="([^"]+)" rel="prev">`),
}

// link returns the page's next or previous link as a path to get.
func link(t *testing.T, body, rel string) string {
	t.Helper()
	return html.UnescapeString(field(t, linkRE[rel], body))
}

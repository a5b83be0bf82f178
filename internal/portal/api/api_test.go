package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/apitoken"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
	"github.com/oobtpm/oob/internal/portal/web"
	"github.com/oobtpm/oob/pkg/dps"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// portal is the whole portal (pages and API) over TLS on loopback, with the emulator as DPS.
type portal struct {
	t      testing.TB
	store  *records.Store
	emu    *emulatortest.Emulator
	dps    *dps.Client
	srv    *httptest.Server
	router routers.Router
}

func start(t testing.TB, s *records.Store, adjust func(*web.Config)) *portal {
	t.Helper()
	emu := emulatortest.Start(t)
	p := &portal{t: t, store: s, emu: emu, dps: emu.Client(t, dps.Options{})}
	cfg := web.Config{Store: s, DPS: p.dps}
	if adjust != nil {
		adjust(&cfg)
	}
	w, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewTLSServer(w.Handler())
	t.Cleanup(p.srv.Close)
	return p
}

// token makes an API token of customer with role, as oob-portal token create does.
func (p *portal) token(customer, name, role string) (string, *records.APIToken) {
	p.t.Helper()
	_ = p.store.AddCustomer(context.Background(), customer)
	secret, rec := apitoken.New(customer, name, role, "test", time.Now())
	if err := p.store.AddAPIToken(context.Background(), rec); err != nil {
		p.t.Fatal(err)
	}
	return secret, rec
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
}

func (a answer) code() string {
	var p struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(a.body, &p)
	return p.Error.Code
}

// call sends a request as a customer's system would, and checks the answer against the portal's
// own OpenAPI document: its status is documented for the operation, and its body and headers
// match the schema.
func (p *portal) call(c *http.Client, method, path, token string, body any, header map[string]string) answer {
	p.t.Helper()
	a, raw := p.do(c, method, path, token, body, header)
	if a.status != http.StatusMethodNotAllowed && !strings.HasSuffix(path, "/no-such") {
		p.conforms(method, path, raw, a)
	}
	return a
}

// send is call without the check against the document (the benchmark's).
func (p *portal) send(c *http.Client, method, path, token string, body any, header map[string]string) answer {
	a, _ := p.do(c, method, path, token, body, header)
	return a
}

func (p *portal) do(c *http.Client, method, path, token string, body any, header map[string]string) (answer, []byte) {
	var rd io.Reader
	var raw []byte
	if body != nil {
		if s, ok := body.(string); ok {
			raw = []byte(s)
		} else {
			raw, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, p.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = p.srv.Client()
	}
	res, err := c.Do(req)
	if err != nil {
		p.t.Error(err) // not Fatal: the benchmark's clients call this from their goroutines
		return answer{}, raw
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, got}, raw
}

func (p *portal) conforms(method, path string, body []byte, a answer) {
	p.t.Helper()
	if p.router == nil {
		res, err := p.srv.Client().Get(p.srv.URL + "/api/v1/openapi.json")
		if err != nil {
			p.t.Fatal(err)
		}
		served, _ := io.ReadAll(res.Body)
		res.Body.Close()
		doc, err := openapi3.NewLoader().LoadFromData(served)
		if err != nil {
			p.t.Fatal(err)
		}
		if p.router, err = legacy.NewRouter(doc); err != nil {
			p.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(method, "/"+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	route, params, err := p.router.FindRoute(req)
	if err != nil {
		p.t.Errorf("%s %s is not in the OpenAPI document: %v", method, path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		p.t.Errorf("%s %s answered %d off the OpenAPI document: %v\n%s", method, path, a.status, err, a.body)
	}
}

type boardJSON struct {
	GUID        string    `json:"guid"`
	State       string    `json:"state"`
	ActivatedAt time.Time `json:"activatedAt"`
	Enrollment  *struct {
		ProvisioningStatus string `json:"provisioningStatus"`
		IoTHubHostName     string `json:"iotHubHostName"`
		ETag               string `json:"etag"`
	} `json:"enrollment"`
}

func activation(code, hub, location, chassis string) map[string]any {
	return map[string]any{"code": code, "hub": hub, "metadata": map[string]string{"location": location, "chassisNumber": chassis}}
}

func TestActivateThroughTheAPI(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		erp, erpRec := p.token("acme", "erp", records.RoleActivator)
		bi, _ := p.token("acme", "bi", records.RoleViewer)
		theirToken, _ := p.token("globex", "mes", records.RoleActivator)
		mine := portaltest.ShipBoard(t, s, p.emu, "acme")
		portaltest.AllowHubs(t, s, "acme", "hub-1.azure-devices.net")
		theirs := portaltest.ShipBoard(t, s, p.emu, "globex")
		path := "/api/v1/boards/" + mine.GUID

		got := p.call(nil, http.MethodGet, path, erp, nil, nil)
		var b boardJSON
		got.json(t, &b)
		if got.status != 200 || b.State != "shipped" || b.Enrollment == nil || b.Enrollment.ProvisioningStatus != "disabled" || got.header.Get("ETag") != `"`+b.Enrollment.ETag+`"` {
			t.Fatalf("GET the board: %d %s %v", got.status, got.body, got.header)
		}
		etag := got.header.Get("ETag")

		// A viewer token reads but cannot activate, and spends nothing trying.
		if v := p.call(nil, http.MethodGet, path, bi, nil, nil); v.status != 200 {
			t.Errorf("viewer GET: %d", v.status)
		}
		if v := p.call(nil, http.MethodPost, path+"/activation", bi, activation(mine.Code, "hub-1.azure-devices.net", "Hall 3", "CH-1"), nil); v.status != http.StatusForbidden || v.code() != "forbidden" {
			t.Errorf("viewer's activation: %d %s", v.status, v.body)
		}

		// Fields wrong: 422, each by its path in the body; nothing written.
		bad := p.call(nil, http.MethodPost, path+"/activation", erp, map[string]any{"code": mine.Code, "hub": "not a host", "metadata": map[string]string{"chassisNumber": "CH-1", "colour": "red"}}, nil)
		var prob struct {
			Error struct {
				Code   string            `json:"code"`
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		bad.json(t, &prob)
		if bad.status != http.StatusUnprocessableEntity || prob.Error.Fields["metadata.colour"] == "" {
			t.Errorf("unknown metadata field: %d %s", bad.status, bad.body)
		}
		bad = p.call(nil, http.MethodPost, path+"/activation", erp, activation(mine.Code, "not a host", "", "CH-1"), nil)
		bad.json(t, &prob)
		if bad.status != http.StatusUnprocessableEntity || prob.Error.Fields["hub"] == "" || prob.Error.Fields["metadata.location"] == "" || prob.Error.Fields["metadata.chassisNumber"] != "" {
			t.Errorf("invalid fields: %d %s", bad.status, bad.body)
		}
		// Not the body's shape: 400, 413, 415.
		if r := p.call(nil, http.MethodPost, path+"/activation", erp, `{"code":"x","hub":"h.example.net","metadata":{},"admin":true}`, nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "admin") {
			t.Errorf("unknown member: %d %s", r.status, r.body)
		}
		if r := p.call(nil, http.MethodPost, path+"/activation", erp, `{"code":"`+strings.Repeat("A", 20<<10)+`"}`, nil); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d", r.status)
		}
		if r := p.call(nil, http.MethodPost, path+"/activation", erp, nil, nil); r.status != http.StatusUnsupportedMediaType {
			t.Errorf("no JSON body: %d", r.status)
		}

		// Someone else changes the enrollment after it was read: 409, their change kept.
		e, _ := p.dps.GetEnrollment(t.Context(), mine.GUID)
		e.DeviceID = "set-by-someone-else"
		if _, err := p.dps.CreateOrUpdateEnrollment(t.Context(), e, e.ETag); err != nil {
			t.Fatal(err)
		}
		stale := p.call(nil, http.MethodPost, path+"/activation", erp, activation(mine.Code, "hub-1.azure-devices.net", "Hall 3", "CH-0042"), map[string]string{"If-Match": etag})
		if stale.status != http.StatusConflict || stale.code() != "changed" {
			t.Fatalf("stale If-Match: %d %s", stale.status, stale.body)
		}
		if after, _ := p.dps.GetEnrollment(t.Context(), mine.GUID); after.DeviceID != "set-by-someone-else" || after.ProvisioningStatus != "disabled" {
			t.Fatalf("the other change was overwritten: %s %s", after.DeviceID, after.ProvisioningStatus)
		}

		// Read again, activate with the current ETag, from a browser-based system on another
		// origin: a bearer request is not refused as cross-origin.
		etag = p.call(nil, http.MethodGet, path, erp, nil, nil).header.Get("ETag")
		done := p.call(nil, http.MethodPost, path+"/activation", erp, activation(mine.Code, "Hub-1.Azure-Devices.net", " Hall 3 ", "CH-0042"),
			map[string]string{"If-Match": etag, "Origin": "https://erp.acme.example", "Sec-Fetch-Site": "cross-site"})
		done.json(t, &b)
		if done.status != 200 || b.State != "activated" || b.ActivatedAt.IsZero() || b.Enrollment.ProvisioningStatus != "enabled" || b.Enrollment.IoTHubHostName != "hub-1.azure-devices.net" {
			t.Fatalf("activation: %d %s", done.status, done.body)
		}
		e, _ = p.dps.GetEnrollment(t.Context(), mine.GUID)
		var desired map[string]string
		_ = json.Unmarshal(e.InitialTwin.Properties.Desired, &desired)
		if e.ProvisioningStatus != "enabled" || desired["location"] != "Hall 3" || desired["chassisNumber"] != "CH-0042" || `"`+e.ETag+`"` != done.header.Get("ETag") {
			t.Errorf("enrollment after activation: %s %v %s", e.ProvisioningStatus, desired, done.header.Get("ETag"))
		}
		trail, _ := s.Audit(t.Context(), mine.GUID)
		if last := trail[len(trail)-1]; last.Action != "activated" || !strings.Contains(last.Actor, erpRec.ID) || last.Address != "127.0.0.1" {
			t.Errorf("audit: %+v", last)
		}

		// The code is spent; another organisation's board, with its right code, is not found.
		if r := p.call(nil, http.MethodPost, path+"/activation", erp, activation(mine.Code, "hub-2.azure-devices.net", "Elsewhere", "CH-9"), nil); r.status != http.StatusNotFound {
			t.Errorf("second activation with a spent code: %d %s", r.status, r.body)
		}
		for name, r := range map[string]answer{
			"GET":      p.call(nil, http.MethodGet, "/api/v1/boards/"+theirs.GUID, erp, nil, nil),
			"activate": p.call(nil, http.MethodPost, "/api/v1/boards/"+theirs.GUID+"/activation", erp, activation(theirs.Code, "hub-1.azure-devices.net", "Hall", "CH-1"), nil),
			"unknown":  p.call(nil, http.MethodGet, "/api/v1/boards/ffffffff-0000-0000-0000-000000000000", erp, nil, nil),
		} {
			if r.status != http.StatusNotFound || r.code() != "board_not_found" {
				t.Errorf("another organisation's board, %s: %d %s", name, r.status, r.body)
			}
		}
		if e, _ := p.dps.GetEnrollment(t.Context(), theirs.GUID); e.ProvisioningStatus != "disabled" {
			t.Error("another organisation's board was activated")
		}
		if r := p.call(nil, http.MethodGet, "/api/v1/boards/"+theirs.GUID, theirToken, nil, nil); r.status != 200 {
			t.Errorf("its own organisation's token: %d", r.status)
		}

		// Revoked: 401 at the next request.
		if err := s.RevokeAPIToken(t.Context(), "acme", erpRec.ID, "op", time.Now()); err != nil {
			t.Fatal(err)
		}
		if r := p.call(nil, http.MethodGet, "/api/v1/boards", erp, nil, nil); r.status != http.StatusUnauthorized || r.code() != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("revoked token: %d %s", r.status, r.body)
		}
	})
}

// TestCookiesDoNotAuthenticateTheAPI signs a user in to the pages, then calls the API with
// that browser's cookies and no token: refused.
func TestCookiesDoNotAuthenticateTheAPI(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	_ = s.AddCustomer(t.Context(), "acme")
	token, inv := web.NewInvite("ann@acme.example", "acme", records.RoleAdmin, time.Now(), time.Hour)
	if err := s.AddInvite(t.Context(), inv, "test"); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := p.srv.Client()
	c.Jar = jar
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/invite/"+token, strings.NewReader(url.Values{"password": {"a long passphrase"}, "again": {"a long passphrase"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.srv.URL)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	u, _ := url.Parse(p.srv.URL)
	if res.Request.URL.Path != "/boards" || len(jar.Cookies(u)) == 0 {
		t.Fatalf("not signed in: %s", res.Request.URL.Path)
	}
	if r := p.call(c, http.MethodGet, "/api/v1/boards", "", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("the API with a session cookie and no token: %d %s", r.status, r.body)
	}
}

func TestBoardListPagesAndFilters(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		tok, _ := p.token("acme", "erp", records.RoleActivator)
		var all []portaltest.Board
		for range 5 {
			all = append(all, portaltest.ShipBoard(t, s, p.emu, "acme"))
		}
		portaltest.ShipBoard(t, s, p.emu, "globex")
		portaltest.AllowHubs(t, s, "acme", "hub-1.azure-devices.net")
		if r := p.call(nil, http.MethodPost, "/api/v1/boards/"+all[2].GUID+"/activation", tok, activation(all[2].Code, "hub-1.azure-devices.net", "Hall 3", "CH-1"), nil); r.status != 200 {
			t.Fatalf("activation: %d %s", r.status, r.body)
		}
		var list struct {
			Boards     []boardJSON `json:"boards"`
			NextCursor string      `json:"nextCursor"`
		}
		seen := map[string]bool{}
		next := "/api/v1/boards?limit=2"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("more pages than boards")
			}
			r := p.call(nil, http.MethodGet, next, tok, nil, nil)
			list.NextCursor = ""
			r.json(t, &list)
			for _, b := range list.Boards {
				if seen[b.GUID] {
					t.Errorf("%s on two pages", b.GUID)
				}
				seen[b.GUID] = true
			}
			next = ""
			if list.NextCursor != "" {
				next = "/api/v1/boards?limit=2&cursor=" + url.QueryEscape(list.NextCursor)
			}
		}
		for _, b := range all {
			if !seen[b.GUID] {
				t.Errorf("%s not listed", b.GUID)
			}
		}
		if len(seen) != len(all) {
			t.Errorf("%d boards listed, want acme's %d", len(seen), len(all))
		}
		p.call(nil, http.MethodGet, "/api/v1/boards?state=activated", tok, nil, nil).json(t, &list)
		if len(list.Boards) != 1 || list.Boards[0].GUID != all[2].GUID || list.Boards[0].State != "activated" {
			t.Errorf("state=activated: %+v", list.Boards)
		}
		p.call(nil, http.MethodGet, "/api/v1/boards?state=shipped", tok, nil, nil).json(t, &list)
		if len(list.Boards) != 4 {
			t.Errorf("state=shipped: %d boards", len(list.Boards))
		}
		for _, q := range []string{"state=lost", "limit=0", "limit=500", "cursor=nonsense", "page=2", "state=shipped&state=activated"} {
			if r := p.call(nil, http.MethodGet, "/api/v1/boards?"+q, tok, nil, nil); r.status != http.StatusBadRequest || r.code() != "invalid_parameters" {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
		if r := p.call(nil, http.MethodDelete, "/api/v1/boards", tok, nil, nil); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
			t.Errorf("DELETE /api/v1/boards: %d %v", r.status, r.header)
		}
		if r := p.call(nil, http.MethodGet, "/api/v1/no-such", tok, nil, nil); r.status != http.StatusNotFound || r.code() != "no_such_path" {
			t.Errorf("unknown path: %d %s", r.status, r.body)
		}
	})
}

// TestActivationAttemptsAreLimited: the API spends from the pages' budgets, so guesses through
// either count against the board.
func TestActivationAttemptsAreLimited(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, func(c *web.Config) { c.Limits.Board = ratelimit.New(3, time.Hour) })
	tok, _ := p.token("acme", "erp", records.RoleActivator)
	b := portaltest.ShipBoard(t, s, p.emu, "acme")
	portaltest.AllowHubs(t, s, "acme", "hub-1.azure-devices.net")
	for i := range 3 {
		if r := p.call(nil, http.MethodPost, "/api/v1/boards/"+b.GUID+"/activation", tok, activation("AAAAAAAA-AAAAAAA"+string(rune('0'+i)), "hub-1.azure-devices.net", "Hall", "CH-1"), nil); r.status != http.StatusNotFound {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
	}
	r := p.call(nil, http.MethodPost, "/api/v1/boards/"+b.GUID+"/activation", tok, activation(b.Code, "hub-1.azure-devices.net", "Hall", "CH-1"), nil)
	// The board's budget refills one attempt an hour: Retry-After says so, not a fixed minute.
	if wait, _ := strconv.Atoi(r.header.Get("Retry-After")); r.status != http.StatusTooManyRequests || wait < 3000 || wait > 3600 {
		t.Errorf("after the board's budget, the right code: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != "disabled" {
		t.Error("an activation above the budget was written")
	}
}

package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
)

func TestAdminPagesAreForAdmins(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	ada := p.user("ada@acme.example", "acme", records.RoleAdmin)
	for _, role := range []string{records.RoleViewer, records.RoleActivator} {
		b := p.user(role+"@acme.example", "acme", role)
		csrf := field(t, csrfRE, b.get("/boards").body)
		for _, path := range []string{"/admin/users", "/admin/form", "/admin/audit", "/admin/tokens"} {
			if pg := b.get(path); pg.status != http.StatusForbidden || !strings.Contains(pg.body, "Only an administrator") {
				t.Errorf("%s opening %s: %d", role, path, pg.status)
			}
		}
		if pg := b.post("/admin/users/role", url.Values{"csrf": {csrf}, "email": {role + "@acme.example"}, "role": {records.RoleAdmin}}); pg.status != http.StatusForbidden {
			t.Errorf("%s making themself admin: %d", role, pg.status)
		}
		if u, _ := s.User(t.Context(), role+"@acme.example"); u.Role != role {
			t.Errorf("%s is now %s", role, u.Role)
		}
		if strings.Contains(b.get("/boards").body, `href="/admin/users"`) {
			t.Errorf("the %s's menu links to the admin pages", role)
		}
	}
	for _, path := range []string{"/admin/users", "/admin/form", "/admin/audit", "/admin/tokens"} {
		if pg := ada.get(path); pg.status != 200 {
			t.Errorf("admin opening %s: %d", path, pg.status)
		}
	}
	// Signed in, without the form token: refused like every other form.
	if pg := ada.post("/admin/users/invite", url.Values{"email": {"x@acme.example"}, "role": {"admin"}}); pg.status != http.StatusForbidden {
		t.Errorf("an invitation without the form token: %d", pg.status)
	}
}

// editor is the form editor's rows as the page posts them.
type editor []map[string]string

func (e editor) values(csrf, op string) url.Values {
	v := url.Values{"csrf": {csrf}, "rows": {strconv.Itoa(len(e))}, "op": {op}}
	for i, row := range e {
		for k, x := range row {
			v.Set(k+"_"+strconv.Itoa(i), x)
		}
	}
	return v
}

var rowNameRE = regexp.MustCompile(`name="name_(\d+)" value="([^"]*)"`)

// rowNames returns the field names of the editor's page, in order.
func rowNames(body string) []string {
	var out []string
	for _, m := range rowNameRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[2])
	}
	return out
}

func TestAdminFormChangesTheActivationForm(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		allowHubs(t, s, "acme", "hub-1.azure-devices.net")
		ada := p.user("ada@acme.example", "acme", records.RoleAdmin)
		ann := p.user("ann@acme.example", "acme", records.RoleActivator)
		b := portaltest.ShipBoard(t, s, p.emu, "acme")

		pg := ada.get("/admin/form")
		if got := rowNames(pg.body); strings.Join(got, ",") != "location,chassisNumber" || !strings.Contains(pg.body, "default form") {
			t.Fatalf("the editor before any change: %v", got)
		}
		csrf := field(t, csrfRE, pg.body)
		rows := editor{
			{"name": "location", "label": "Location", "type": "text", "required": "on", "maxLength": "120"},
			{"name": "chassisNumber", "label": "Chassis number", "type": "text", "required": "on", "maxLength": "64", "pattern": `[A-Za-z0-9 _./-]*`},
		}
		// Add a row: shown, not saved.
		if pg = ada.post("/admin/form", rows.values(csrf, "add")); len(rowNames(pg.body)) != 3 || !strings.Contains(pg.body, "Not saved yet") {
			t.Fatalf("after adding a row: %v %s", rowNames(pg.body), pg.body)
		}
		rows = append(rows, map[string]string{"name": "asset_tag", "label": "Asset tag", "type": "text", "required": "on", "maxLength": "7", "pattern": "AT-([0-9]{4}"})
		bad := ada.post("/admin/form", rows.values(csrf, "save"))
		if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="pattern_2-error"`) || !strings.Contains(bad.body, `value="AT-([0-9]{4}"`) {
			t.Fatalf("a pattern that does not compile: %d %s", bad.status, bad.body)
		}
		rows[2]["pattern"] = "AT-[0-9]{4}"
		// Move it to the top, drop the location.
		if pg = ada.post("/admin/form", rows.values(csrf, "up-2")); strings.Join(rowNames(pg.body), ",") != "location,asset_tag,chassisNumber" {
			t.Fatalf("after moving up: %v", rowNames(pg.body))
		}
		rows = editor{rows[2], rows[1]}
		if pg = ada.post("/admin/form", editor{rows[0], {"name": "location", "label": "Location", "type": "text", "maxLength": "120"}, rows[1]}.values(csrf, "remove-1")); strings.Join(rowNames(pg.body), ",") != "asset_tag,chassisNumber" {
			t.Fatalf("after removing: %v", rowNames(pg.body))
		}
		if def, _ := s.FormDefinition(t.Context(), "acme"); def != "" {
			t.Fatalf("saved before Save: %s", def)
		}
		if pg = ada.post("/admin/form", rows.values(csrf, "save")); pg.url != "/admin/form" || !strings.Contains(pg.body, "was saved") || strings.Join(rowNames(pg.body), ",") != "asset_tag,chassisNumber" {
			t.Fatalf("after saving: %s %v", pg.url, rowNames(pg.body))
		}

		// The activator's form now asks for the asset tag, not the location.
		form := ann.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code))
		if !strings.Contains(form.body, `id="m_asset_tag"`) || strings.Contains(form.body, `id="m_location"`) || !strings.Contains(form.body, "Asset tag") {
			t.Fatalf("the activation form after the change: %s", form.body)
		}
		csrf2, etag := field(t, csrfRE, form.body), field(t, etagRE, form.body)
		values := url.Values{"guid": {b.GUID}, "code": {b.Code}, "csrf": {csrf2}, "etag": {etag}, "m_asset_tag": {"AT-12"}, "m_chassisNumber": {"CH-1"}, "hub": {"hub-1.azure-devices.net"}}
		if pg = ann.post("/a", values); pg.status != http.StatusUnprocessableEntity || !strings.Contains(pg.body, `id="m_asset_tag-error"`) || !strings.Contains(pg.body, `value="AT-12"`) {
			t.Fatalf("a value not matching the pattern: %d %s", pg.status, pg.body)
		}
		values.Set("m_asset_tag", "AT-0042")
		values.Set("m_location", "ignored: not a field any more")
		if pg = ann.post("/a", values); pg.status != 200 || !strings.Contains(pg.body, "AT-0042") {
			t.Fatalf("activation: %d %s", pg.status, pg.body)
		}
		e, _ := p.dps.GetEnrollment(t.Context(), b.GUID)
		var tags map[string]any
		_ = json.Unmarshal(e.InitialTwin.Tags, &tags)
		if tags["asset_tag"] != "AT-0042" || tags["chassisNumber"] != "CH-1" || tags["location"] != nil {
			t.Errorf("tags: %v", tags)
		}
		trail, _, _ := s.CustomerAudit(t.Context(), "acme", 10, 0)
		var changed *records.AuditEntry
		for i := range trail {
			if trail[i].Action == "form-changed" {
				changed = &trail[i]
			}
		}
		if changed == nil || changed.Actor != "ada@acme.example" || changed.Address != "127.0.0.1" || !strings.Contains(changed.Detail, `asset_tag (text, required, pattern "AT-[0-9]{4}"`) {
			t.Errorf("the form change's audit line: %+v", changed)
		}
	})
}

func TestActivationOffersOnlyAllowedHubs(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	ann := p.user("ann@acme.example", "acme", records.RoleActivator)
	b := portaltest.ShipBoard(t, s, p.emu, "acme")
	allowHubs(t, s, "globex", "globex-hub.azure-devices.net")
	label := "/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code)

	// None allowed: said so, no form; a post anyway is refused.
	pg := ann.get(label)
	if !strings.Contains(pg.body, `id="no-hub"`) || strings.Contains(pg.body, `name="etag"`) {
		t.Fatalf("no hub allowed: %s", pg.body)
	}
	csrf := field(t, csrfRE, pg.body)
	if pg = ann.post("/a", activateForm(b.GUID, b.Code, csrf, "", "Hall", "CH-1", "globex-hub.azure-devices.net")); pg.status != http.StatusUnprocessableEntity || !strings.Contains(pg.body, `id="no-hub"`) {
		t.Errorf("activation with no hub allowed: %d %s", pg.status, pg.body)
	}

	allowHubs(t, s, "acme", "hub-1.azure-devices.net", "hub-2.azure-devices.net")
	pg = ann.get(label)
	opts := regexp.MustCompile(`<option(?: selected)?>([a-z0-9.-]+)</option>`).FindAllStringSubmatch(pg.body, -1)
	var offered []string
	for _, o := range opts {
		offered = append(offered, o[1])
	}
	if strings.Join(offered, ",") != "hub-1.azure-devices.net,hub-2.azure-devices.net" {
		t.Errorf("hubs offered: %v", offered)
	}
	etag := field(t, etagRE, pg.body)
	if pg = ann.post("/a", activateForm(b.GUID, b.Code, csrf, etag, "Hall", "CH-1", "globex-hub.azure-devices.net")); pg.status != http.StatusUnprocessableEntity || !strings.Contains(pg.body, `id="hub-error"`) {
		t.Errorf("another organisation's hub: %d %s", pg.status, pg.body)
	}
	if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != "disabled" {
		t.Fatal("a refused hub enabled the enrollment")
	}
	if pg = ann.post("/a", activateForm(b.GUID, b.Code, csrf, etag, "Hall", "CH-1", "hub-2.azure-devices.net")); pg.status != 200 {
		t.Errorf("an allowed hub: %d %s", pg.status, pg.body)
	}
	if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.IoTHubHostName != "hub-2.azure-devices.net" {
		t.Errorf("hub in DPS: %s", e.IoTHubHostName)
	}
}

var inviteLinkRE = regexp.MustCompile(`href="(https://[^"]+/invite/[^"]+)"`)

func TestAdminManagesUsers(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		ada := p.user("ada@acme.example", "acme", records.RoleAdmin)
		_ = p.user("eve@globex.example", "globex", records.RoleAdmin)
		csrf := field(t, csrfRE, ada.get("/admin/users").body)

		if pg := ada.post("/admin/users/invite", url.Values{"csrf": {csrf}, "email": {"not an address"}, "role": {"viewer"}}); pg.status != http.StatusUnprocessableEntity || !strings.Contains(pg.body, `id="email-error"`) {
			t.Errorf("a bad address: %d", pg.status)
		}
		if pg := ada.post("/admin/users/invite", url.Values{"csrf": {csrf}, "email": {"eve@globex.example"}, "role": {"viewer"}}); pg.status != http.StatusUnprocessableEntity {
			t.Errorf("another organisation's user: %d", pg.status)
		}
		pg := ada.post("/admin/users/invite", url.Values{"csrf": {csrf}, "email": {"Bob@acme.example"}, "role": {"viewer"}})
		m := inviteLinkRE.FindStringSubmatch(pg.body)
		if pg.status != 200 || m == nil {
			t.Fatalf("invitation: %d %s", pg.status, pg.body)
		}
		list := ada.get("/admin/users")
		if strings.Contains(list.body, m[1]) || !strings.Contains(list.body, "bob@acme.example") {
			t.Errorf("the link is shown again, or the pending invitation is not: %s", list.body)
		}
		// Bob takes the link (the page's host is the test server's).
		bob := p.browser()
		path := m[1][strings.Index(m[1], "/invite/"):]
		if pg := bob.post(path, url.Values{"password": {"a long passphrase"}, "again": {"a long passphrase"}}); pg.url != "/boards" {
			t.Fatalf("bob's invitation: %s %d", pg.url, pg.status)
		}
		bob2 := p.browser()
		if pg := bob2.post("/login", url.Values{"email": {"bob@acme.example"}, "password": {"a long passphrase"}}); pg.url != "/boards" {
			t.Fatalf("bob's second browser: %s", pg.url)
		}

		if pg := ada.post("/admin/users/role", url.Values{"csrf": {csrf}, "email": {"bob@acme.example"}, "role": {"activator"}}); pg.url != "/admin/users" || !strings.Contains(pg.body, "role was changed") {
			t.Errorf("role change: %s %d", pg.url, pg.status)
		}
		if u, _ := s.User(t.Context(), "bob@acme.example"); u.Role != records.RoleActivator {
			t.Errorf("bob's role: %s", u.Role)
		}
		if pg := ada.post("/admin/users/role", url.Values{"csrf": {csrf}, "email": {"ada@acme.example"}, "role": {"viewer"}}); pg.status != http.StatusConflict || !strings.Contains(pg.body, "last administrator") {
			t.Errorf("the last admin demoting themself: %d", pg.status)
		}
		if pg := ada.post("/admin/users/remove", url.Values{"csrf": {csrf}, "email": {"ada@acme.example"}}); pg.status != http.StatusConflict {
			t.Errorf("the last admin removing themself: %d", pg.status)
		}
		if pg := ada.post("/admin/users/role", url.Values{"csrf": {csrf}, "email": {"eve@globex.example"}, "role": {"viewer"}}); pg.status != http.StatusNotFound {
			t.Errorf("changing another organisation's user: %d", pg.status)
		}
		if pg := ada.post("/admin/users/sign-out", url.Values{"csrf": {csrf}, "email": {"bob@acme.example"}}); !strings.Contains(pg.body, "signed out of every browser") {
			t.Errorf("signing bob out: %d", pg.status)
		}
		for i, b := range []*browser{bob, bob2} {
			if pg := b.get("/boards"); pg.url != "/login" {
				t.Errorf("bob's browser %d after being signed out: %s", i, pg.url)
			}
		}
		_ = bob.post("/login", url.Values{"email": {"bob@acme.example"}, "password": {"a long passphrase"}})
		if pg := ada.post("/admin/users/remove", url.Values{"csrf": {csrf}, "email": {"bob@acme.example"}}); !strings.Contains(pg.body, "was removed") {
			t.Errorf("removing bob: %d", pg.status)
		}
		if pg := bob.get("/boards"); pg.url != "/login" {
			t.Errorf("a removed user's session: %s", pg.url)
		}
		if pg := bob.post("/login", url.Values{"email": {"bob@acme.example"}, "password": {"a long passphrase"}}); pg.status != http.StatusUnauthorized {
			t.Errorf("a removed user signing in: %d", pg.status)
		}

		// An admin who is not the last may step down, and lands on the boards.
		cy := p.user("cy@acme.example", "acme", records.RoleAdmin)
		if pg := ada.post("/admin/users/role", url.Values{"csrf": {csrf}, "email": {"ada@acme.example"}, "role": {"viewer"}}); pg.url != "/boards" {
			t.Errorf("after stepping down: %s", pg.url)
		}
		if pg := ada.get("/admin/audit"); pg.status != http.StatusForbidden {
			t.Errorf("a former admin's audit page: %d", pg.status)
		}
		audit := cy.get("/admin/audit").body
		for _, want := range []string{"user-removed", "signed-out-everywhere", "role-changed", "user-invited", "bob@acme.example from viewer to activator"} {
			if !strings.Contains(audit, want) {
				t.Errorf("the audit page lacks %q", want)
			}
		}
		if strings.Contains(audit, "eve@globex.example as admin") {
			t.Error("acme's audit page shows globex's lines")
		}
	})
}

func TestSignOutEverywhere(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	vic := p.user("vic@acme.example", "acme", records.RoleViewer)
	other := p.browser()
	if pg := other.post("/login", url.Values{"email": {"vic@acme.example"}, "password": {"a long passphrase"}}); pg.url != "/boards" {
		t.Fatalf("second browser: %s", pg.url)
	}
	acct := vic.get("/account")
	if acct.status != 200 || !strings.Contains(acct.body, "Sign out everywhere") {
		t.Fatalf("account page: %d", acct.status)
	}
	if pg := vic.post("/account/sign-out-everywhere", url.Values{"csrf": {field(t, csrfRE, acct.body)}}); pg.url != "/login" {
		t.Errorf("after signing out everywhere: %s", pg.url)
	}
	if pg := other.get("/boards"); pg.url != "/login" {
		t.Errorf("the other browser: %s", pg.url)
	}
	trail, _, _ := s.CustomerAudit(t.Context(), "acme", 1, 0)
	if len(trail) != 1 || trail[0].Action != "signed-out-everywhere" || trail[0].Actor != "vic@acme.example" {
		t.Errorf("audit: %+v", trail)
	}
}

func TestAuditPageShowsOnlyTheOrganisationsLinesPaged(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		ada := p.user("ada@acme.example", "acme", records.RoleAdmin)
		_ = p.user("eve@globex.example", "globex", records.RoleAdmin)
		for i := range AuditPageSize + 5 {
			if err := s.AuditFrom(t.Context(), "ada@acme.example", "note", "", fmt.Sprintf("acme-line-%03d", i), "192.0.2.3"); err != nil {
				t.Fatal(err)
			}
		}
		_ = s.AuditFrom(t.Context(), "eve@globex.example", "note", "", "globex-line", "192.0.2.4")
		one := ada.get("/admin/audit")
		if n := strings.Count(one.body, "<tr><td>"); n != AuditPageSize || !strings.Contains(one.body, "acme-line-054") || strings.Contains(one.body, "acme-line-004") ||
			!strings.Contains(one.body, "/admin/audit?page=2") || strings.Contains(one.body, "globex-line") || !strings.Contains(one.body, "192.0.2.3") {
			t.Errorf("first page (%d lines): %s", n, one.body)
		}
		two := ada.get("/admin/audit?page=2")
		// 55 notes, two sign-ins… of acme: 59 lines in all, 9 on the second page, the oldest last.
		if !strings.Contains(two.body, "acme-line-000") || strings.Contains(two.body, "acme-line-054") || strings.Contains(two.body, "page=3") {
			t.Errorf("second page: %s", two.body)
		}
	})
}

package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
)

var (
	secretRE  = regexp.MustCompile(`id="token-secret">(oobp_[A-Za-z0-9_-]{43})<`)
	tokenIDRE = regexp.MustCompile(`name="id" value="([0-9a-f]+)"`)
)

// apiGet calls the portal's API with token as the bearer, as an organisation's system does.
func (p *portal) apiGet(t *testing.T, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := p.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestAdminTokensMadeUsedAndRevoked(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		ada := p.user("ada@acme.example", "acme", records.RoleAdmin)
		eve := p.user("eve@globex.example", "globex", records.RoleAdmin)
		csrf := field(t, csrfRE, ada.get("/admin/tokens").body)

		// Refused next to its field, and nothing made.
		pg := ada.post("/admin/tokens/create", url.Values{"csrf": {csrf}, "name": {"erp\nsystem"}, "role": {records.RoleActivator}})
		if pg.status != http.StatusUnprocessableEntity || !strings.Contains(pg.body, `id="name-error"`) || secretRE.MatchString(pg.body) {
			t.Fatalf("a two-line name: %d %s", pg.status, pg.body)
		}
		if pg := ada.post("/admin/tokens/create", url.Values{"csrf": {csrf}, "name": {"erp"}, "role": {records.RoleAdmin}}); pg.status != http.StatusUnprocessableEntity {
			t.Fatalf("an admin token: %d", pg.status)
		}

		pg = ada.post("/admin/tokens/create", url.Values{"csrf": {csrf}, "name": {"erp"}, "role": {records.RoleActivator}})
		secret := field(t, secretRE, pg.body)
		if pg.status != 200 || !strings.Contains(pg.body, "shown only now") {
			t.Fatalf("making a token: %d", pg.status)
		}
		if got := p.apiGet(t, secret, "/api/v1/boards"); got != 200 {
			t.Fatalf("the new token on the API: %d", got)
		}
		// The list shows the token by name and ID, never its secret again.
		list := ada.get("/admin/tokens").body
		if strings.Contains(list, secret) || !strings.Contains(list, "erp") || !strings.Contains(list, "activator") {
			t.Fatalf("the token list:\n%s", list)
		}
		id := field(t, tokenIDRE, list)

		// Another organisation's admin cannot see or revoke it.
		if strings.Contains(eve.get("/admin/tokens").body, id) {
			t.Error("globex's admin sees acme's token")
		}
		ecsrf := field(t, csrfRE, eve.get("/admin/tokens").body)
		if pg := eve.post("/admin/tokens/revoke", url.Values{"csrf": {ecsrf}, "id": {id}}); pg.status != http.StatusNotFound {
			t.Errorf("globex revoking acme's token: %d", pg.status)
		}
		if got := p.apiGet(t, secret, "/api/v1/boards"); got != 200 {
			t.Fatalf("after another organisation's attempt to revoke it: %d", got)
		}

		if pg := ada.post("/admin/tokens/revoke", url.Values{"csrf": {csrf}, "id": {id}}); pg.status != 200 || !strings.Contains(pg.body, "revoked") {
			t.Fatalf("revoking: %d %s", pg.status, pg.body)
		}
		if got := p.apiGet(t, secret, "/api/v1/boards"); got != http.StatusUnauthorized {
			t.Errorf("a revoked token on the API: %d", got)
		}
		audit := ada.get("/admin/audit").body
		for _, want := range []string{"api-token-created", "api-token-revoked", "ada@acme.example"} {
			if !strings.Contains(audit, want) {
				t.Errorf("the audit trail lacks %q", want)
			}
		}
	})
}

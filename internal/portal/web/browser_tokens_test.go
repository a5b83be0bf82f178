package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
)

// TestBrowserAdminTokens makes an API token in chromium, with the keyboard alone, then revokes
// it; the page is saved as admin-tokens.png.
func TestBrowserAdminTokens(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	c := newChrome(t, p)
	c.signUp(c.invite("ada@acme.example", "acme", records.RoleAdmin))
	c.do("the tokens page", chromedp.Navigate(p.srv.URL+"/admin/tokens"), chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.Focus(chromedp.ID("name")), chromedp.KeyEvent("erp"), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("a"), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("token-secret")))
	secret := c.text("#token-secret")
	if got := p.apiGet(t, secret, "/api/v1/boards"); got != 200 {
		t.Fatalf("the token made in the browser on the API: %d (%q)", got, secret)
	}
	if got := c.text("table.tokens"); !strings.Contains(got, "erp") || !strings.Contains(got, "activator") {
		t.Errorf("the token list: %s", got)
	}
	c.shot("admin-tokens")
	c.do("revoke", chromedp.Click(chromedp.CSS("table.tokens button.danger")), chromedp.WaitNotPresent(chromedp.ID("token-secret")))
	// Revoked, and its use on the API above shown as its last use.
	if got := c.text("table.tokens"); !strings.Contains(got, "revoked") || strings.Contains(got, "never") {
		t.Errorf("after revoking: %s", got)
	}
	if got := p.apiGet(t, secret, "/api/v1/boards"); got != 401 {
		t.Errorf("the revoked token on the API: %d", got)
	}
}

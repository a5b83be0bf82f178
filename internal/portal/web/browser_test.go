package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oobtpm/oob/internal/factory/label"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/pkg/dps"
)

// chromium returns Debian's chromium, skipping the test without it unless OOB_E2E=1.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("OOB_E2E") == "1" {
			t.Fatal("chromium is not installed (the Debian package chromium: scripts/deps.sh test)")
		}
		t.Skip("chromium is not installed, skipping the browser test (install the Debian package chromium; OOB_E2E=1 makes this a failure)")
	}
	return path
}

// TestBrowserInviteSignInActivate drives headless chromium, at a phone's size, through the
// portal as its users meet it: an invitation, a password, signing out and in, a label's URL, a
// field left empty, the activation; then a form on another site posting to the portal, and a
// second organisation's user opening the first's label; between them a CSV import, its report,
// a search and a board's page. Each page is saved as a PNG in
// $OOB_PORTAL_SCREENSHOTS, else in the test's temporary directory.
func TestBrowserInviteSignInActivate(t *testing.T) {
	exe := chromium(t)
	s := portaltest.SQLite(t)
	p := start(t, s, func(c *Config) { c.Registrations = c.DPS.(*dps.Client) })
	mine := portaltest.ShipBoard(t, s, p.emu, "acme")
	spare := portaltest.ShipBoard(t, s, p.emu, "acme")
	shots := os.Getenv("OOB_PORTAL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.IgnoreCertErrors, chromedp.WindowSize(412, 915), chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v (at %s: %s)", what, err, loc, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	invite := func(email, customer string) string {
		t.Helper()
		token, inv := NewInvite(email, customer, records.RoleActivator, p.clock(), time.Hour)
		_ = s.AddCustomer(context.Background(), customer)
		if err := s.AddInvite(context.Background(), inv, "test"); err != nil {
			t.Fatal(err)
		}
		return InviteURL(p.srv.URL, token)
	}
	labelURL := func(b portaltest.Board) string {
		t.Helper()
		l, err := label.New(p.srv.URL+"/a", b.GUID, b.Code)
		if err != nil {
			t.Fatal(err)
		}
		return l.URL
	}
	const pw = "a long passphrase"

	do("invitation", chromedp.Navigate(invite("ann@acme.example", "acme")), chromedp.WaitVisible(chromedp.ID("again")))
	shot("invite")
	do("set the password", chromedp.SendKeys(chromedp.ID("password"), pw), chromedp.SendKeys(chromedp.ID("again"), pw),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.CSS("table")))
	if got := text("main"); !strings.Contains(got, mine.GUID) || !strings.Contains(got, "Boards of acme") {
		t.Errorf("board list: %s", got)
	}
	shot("boards")

	do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("email")))
	shot("login")
	do("sign in from the label's URL", chromedp.Navigate(labelURL(mine)), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ann@acme.example"), chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.ID("location")))
	shot("activate")

	do("a field left empty", chromedp.SendKeys(chromedp.ID("location"), "Hall 3, Lyon"),
		chromedp.SendKeys(chromedp.ID("hub"), "hub-1.azure-devices.net"),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.ID("chassis-error")))
	if got := text("#chassis-error"); !strings.Contains(got, "chassis number") {
		t.Errorf("chassis error: %q", got)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("location"))); got != "Hall 3, Lyon" {
		t.Errorf("the location typed was lost: %q", got)
	}
	shot("activate-error")

	do("activate", chromedp.SendKeys(chromedp.ID("chassis"), "CH-0042"),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.CSS(".ok")))
	shot("activated")
	e, err := p.dps.GetEnrollment(t.Context(), mine.GUID)
	if err != nil {
		t.Fatal(err)
	}
	var desired, tags map[string]string
	_ = json.Unmarshal(e.InitialTwin.Properties.Desired, &desired)
	_ = json.Unmarshal(e.InitialTwin.Tags, &tags)
	if e.ProvisioningStatus != "enabled" || e.IoTHubHostName != "hub-1.azure-devices.net" ||
		desired["location"] != "Hall 3, Lyon" || desired["chassisNumber"] != "CH-0042" || tags["chassisNumber"] != "CH-0042" {
		t.Errorf("enrollment after activation: %s %s desired %v tags %v", e.ProvisioningStatus, e.IoTHubHostName, desired, tags)
	}

	// Many boards from a CSV file, with markup in a location: the report, a search, the board's
	// page once it has registered, every value shown as text.
	good, wrong, badHub := portaltest.ShipBoard(t, s, p.emu, "acme"), portaltest.ShipBoard(t, s, p.emu, "acme"), portaltest.ShipBoard(t, s, p.emu, "acme")
	theirs := portaltest.ShipBoard(t, s, p.emu, "globex")
	file := filepath.Join(t.TempDir(), "boards.csv")
	if err := os.WriteFile(file, []byte(fleetRows(good, wrong, badHub, theirs)), 0o600); err != nil {
		t.Fatal(err)
	}
	do("CSV import", chromedp.Navigate(p.srv.URL+"/boards/import"), chromedp.WaitVisible(chromedp.ID("file")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}), chromedp.Click(chromedp.CSS("main button")),
		chromedp.WaitVisible(chromedp.ID("report")))
	if got := text("#summary"); !strings.Contains(got, "5 rows: 1 activated, 2 refused, 2 not found") {
		t.Errorf("import summary: %q", got)
	}
	if got := text("#report tbody tr:nth-child(3)"); !strings.Contains(got, badHub.GUID) || !strings.Contains(got, "refused") || !strings.Contains(got, "host name") {
		t.Errorf("the bad hub's row: %q", got)
	}
	shot("import-report")
	do("search", chromedp.Navigate(p.srv.URL+"/boards"), chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "<script>"), chromedp.Click(chromedp.CSS(".search button")),
		chromedp.WaitVisible(chromedp.ID("show-all")))
	if got := text("main table"); !strings.Contains(got, good.GUID) || !strings.Contains(got, hostile) || strings.Contains(got, wrong.GUID) {
		t.Errorf("search results: %q", got)
	}
	shot("fleet-search")
	hub := portaltest.Register(t, p.emu, good)
	do("a board's page", chromedp.Click(chromedp.CSS("main table a.guid")), chromedp.WaitVisible(chromedp.ID("history")))
	if got := text("#state"); !strings.Contains(got, "registered to "+hub) {
		t.Errorf("board state: %q", got)
	}
	if got := text("main"); !strings.Contains(got, hostile) || !strings.Contains(got, "from a CSV file") {
		t.Errorf("board page: %q", got)
	}
	shot("board")

	// Another site (another host name, so another site to the browser) with a form aimed at the
	// portal, every field right but the form token it cannot know.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/a"><input type="hidden" name="guid" value="%s"><input type="hidden" name="code" value="%s">`+
			`<input type="hidden" name="location" value="x"><input type="hidden" name="chassis" value="1"><input type="hidden" name="hub" value="evil.example.net">`+
			`<button id="go">Win a prize</button></form>`, p.srv.URL, spare.GUID, spare.Code)
	}))
	defer evil.Close()
	do("a cross-origin form", chromedp.Navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)),
		chromedp.Click(chromedp.ID("go")), chromedp.WaitVisible(chromedp.CSS(".message")))
	if got := text("main"); !strings.Contains(got, "another site") {
		t.Errorf("cross-origin POST: %s", got)
	}
	shot("cross-origin")
	if e, _ := p.dps.GetEnrollment(t.Context(), spare.GUID); e.ProvisioningStatus != "disabled" {
		t.Errorf("a cross-origin POST changed the enrollment: %s", e.ProvisioningStatus)
	}

	// Someone of another organisation, with the label of acme's board in hand.
	do("sign out of acme", chromedp.Navigate(p.srv.URL+"/boards"), chromedp.WaitVisible(chromedp.CSS(".signout button")),
		chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("email")))
	do("globex's invitation", chromedp.Navigate(invite("bob@globex.example", "globex")), chromedp.WaitVisible(chromedp.ID("again")),
		chromedp.SendKeys(chromedp.ID("password"), pw), chromedp.SendKeys(chromedp.ID("again"), pw),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.CSS(".signout button")))
	do("acme's label", chromedp.Navigate(labelURL(spare)), chromedp.WaitVisible(chromedp.CSS(".message")))
	if got := text("main"); !strings.Contains(got, "Board not found") || strings.Contains(got, spare.GUID) {
		t.Errorf("globex opening acme's label: %s", got)
	}
	shot("not-found")
}

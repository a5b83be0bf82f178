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

// chrome is a headless chromium at a phone's size on the portal p, saving screenshots in
// $OOB_PORTAL_SCREENSHOTS, else in the test's temporary directory.
type chrome struct {
	t     *testing.T
	p     *portal
	ctx   context.Context
	shots string
}

func newChrome(t *testing.T, p *portal) *chrome {
	t.Helper()
	exe := chromium(t)
	shots := os.Getenv("OOB_PORTAL_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.IgnoreCertErrors, chromedp.WindowSize(412, 915), chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, stop := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(stop)
	return &chrome{t: t, p: p, ctx: ctx, shots: shots}
}

func (c *chrome) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(c.ctx, chromedp.Location())
		body, _ := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS("body")))
		c.t.Fatalf("%s: %v (at %s: %s)", what, err, loc, body)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (c *chrome) shot(name string) {
	c.t.Helper()
	b, err := chromedp.Run(c.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(c.shots, name+".png"), b, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// invite records an invitation into customer with role and returns its link.
func (c *chrome) invite(email, customer, role string) string {
	c.t.Helper()
	token, inv := NewInvite(email, customer, role, c.p.clock(), time.Hour)
	_ = c.p.store.AddCustomer(context.Background(), customer)
	if err := c.p.store.AddInvite(context.Background(), inv, "test"); err != nil {
		c.t.Fatal(err)
	}
	return InviteURL(c.p.srv.URL, token)
}

func (c *chrome) labelURL(b portaltest.Board) string {
	c.t.Helper()
	l, err := label.New(c.p.srv.URL+"/a", b.GUID, b.Code)
	if err != nil {
		c.t.Fatal(err)
	}
	return l.URL
}

// signUp follows an invitation link and sets the password; signed in afterwards.
func (c *chrome) signUp(link string) {
	c.t.Helper()
	c.do("invitation "+link, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("again")),
		chromedp.SendKeys(chromedp.ID("password"), pw), chromedp.SendKeys(chromedp.ID("again"), pw),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.CSS(".signout button")))
}

func (c *chrome) signOut() {
	c.t.Helper()
	c.do("sign out", chromedp.Navigate(c.p.srv.URL+"/boards"), chromedp.WaitVisible(chromedp.CSS(".signout button")),
		chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("email")))
}

const pw = "a long passphrase"

// TestBrowserInviteSignInActivate drives headless chromium, at a phone's size, through the
// portal as its users meet it: an invitation, a password, signing out and in, a label's URL, a
// field left empty, the activation; then a form on another site posting to the portal, and a
// second organisation's user opening the first's label; between them a CSV import, its report,
// a search and a board's page. Each page is saved as a PNG.
func TestBrowserInviteSignInActivate(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, func(c *Config) { c.Registrations = c.DPS.(*dps.Client) })
	c := newChrome(t, p)
	allowHubs(t, s, "acme", "hub-1.azure-devices.net")
	mine := portaltest.ShipBoard(t, s, p.emu, "acme")
	spare := portaltest.ShipBoard(t, s, p.emu, "acme")
	do, text, shot, invite, labelURL := c.do, c.text, c.shot, c.invite, c.labelURL
	ctx := c.ctx

	do("invitation", chromedp.Navigate(invite("ann@acme.example", "acme", records.RoleActivator)), chromedp.WaitVisible(chromedp.ID("again")))
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
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.ID("m_location")))
	shot("activate")

	do("a field left empty", chromedp.SendKeys(chromedp.ID("m_location"), "Hall 3, Lyon"),
		chromedp.Click(chromedp.CSS("main button")), chromedp.WaitVisible(chromedp.ID("m_chassisNumber-error")))
	if got := text("#m_chassisNumber-error"); !strings.Contains(got, "chassis number") {
		t.Errorf("chassis error: %q", got)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("m_location"))); got != "Hall 3, Lyon" {
		t.Errorf("the location typed was lost: %q", got)
	}
	shot("activate-error")

	do("activate", chromedp.SendKeys(chromedp.ID("m_chassisNumber"), "CH-0042"),
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
	allowHubs(t, s, "acme", "hub-9.azure-devices.net")
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
	if got := text("#report tbody tr:nth-child(3)"); !strings.Contains(got, badHub.GUID) || !strings.Contains(got, "refused") || !strings.Contains(got, "has not allowed the hub") {
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
			`<input type="hidden" name="m_location" value="x"><input type="hidden" name="m_chassisNumber" value="1"><input type="hidden" name="hub" value="hub-1.azure-devices.net">`+
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
	c.signOut()
	c.signUp(invite("bob@globex.example", "globex", records.RoleActivator))
	do("acme's label", chromedp.Navigate(labelURL(spare)), chromedp.WaitVisible(chromedp.CSS(".message")))
	if got := text("main"); !strings.Contains(got, "Board not found") || strings.Contains(got, spare.GUID) {
		t.Errorf("globex opening acme's label: %s", got)
	}
	shot("not-found")
}

// TestBrowserAdminFormAndHubs: an administrator adds a field with a pattern to the
// organisation's activation form; an activator's activation page then asks for it, shows a
// value not matching the pattern next to its field, and offers only the hubs the factory
// allowed the organisation.
func TestBrowserAdminFormAndHubs(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	c := newChrome(t, p)
	allowHubs(t, s, "acme", "hub-1.azure-devices.net", "hub-2.azure-devices.net")
	allowHubs(t, s, "globex", "globex-hub.azure-devices.net")
	b := portaltest.ShipBoard(t, s, p.emu, "acme")

	c.signUp(c.invite("ada@acme.example", "acme", records.RoleAdmin))
	c.do("the form editor", chromedp.Navigate(p.srv.URL+"/admin/form"), chromedp.WaitVisible(chromedp.ID("add-field")),
		chromedp.Click(chromedp.ID("add-field")), chromedp.WaitVisible(chromedp.ID("name_2")))
	c.do("a field with a pattern", chromedp.SendKeys(chromedp.ID("name_2"), "asset_tag"), chromedp.SendKeys(chromedp.ID("label_2"), "Asset tag"),
		chromedp.Click(chromedp.ID("required_2")), chromedp.SendKeys(chromedp.ID("pattern_2"), "AT-[0-9]{4}"),
		chromedp.SetValue(chromedp.ID("maxLength_2"), "7"))
	c.shot("admin-form")
	c.do("save", chromedp.Click(chromedp.ID("save-form")), chromedp.WaitVisible(chromedp.CSS(".ok")))
	if got := c.text(".ok"); !strings.Contains(got, "saved") {
		t.Errorf("after saving: %s", got)
	}
	c.do("the users page", chromedp.Navigate(p.srv.URL+"/admin/users"), chromedp.WaitVisible(chromedp.ID("email")))
	c.shot("admin-users")
	c.signOut()

	c.signUp(c.invite("ann@acme.example", "acme", records.RoleActivator))
	c.do("the label's page", chromedp.Navigate(c.labelURL(b)), chromedp.WaitVisible(chromedp.ID("m_asset_tag")))
	if got := c.text("main form"); !strings.Contains(got, "Asset tag") {
		t.Errorf("the activation form lacks the new field: %s", got)
	}
	hubs := c.text("#hub")
	if !strings.Contains(hubs, "hub-1.azure-devices.net") || !strings.Contains(hubs, "hub-2.azure-devices.net") || strings.Contains(hubs, "globex") {
		t.Errorf("hubs offered: %q", hubs)
	}
	c.do("a value not matching the pattern", chromedp.SendKeys(chromedp.ID("m_location"), "Hall 3"),
		chromedp.SendKeys(chromedp.ID("m_chassisNumber"), "CH-7"), chromedp.SendKeys(chromedp.ID("m_asset_tag"), "AT-12"),
		chromedp.SetValue(chromedp.ID("hub"), "hub-2.azure-devices.net"),
		chromedp.Click(chromedp.CSS("main form button")), chromedp.WaitVisible(chromedp.ID("m_asset_tag-error")))
	if got := c.text("#m_asset_tag-error"); !strings.Contains(got, "AT-[0-9]{4}") {
		t.Errorf("the asset tag's error: %q", got)
	}
	if got, _ := chromedp.Run(c.ctx, chromedp.Value(chromedp.ID("hub"))); got != "hub-2.azure-devices.net" {
		t.Errorf("the hub chosen was lost: %q", got)
	}
	c.shot("activate-admin-field-error")
	c.do("activate", chromedp.SetValue(chromedp.ID("m_asset_tag"), "AT-0042"),
		chromedp.Click(chromedp.CSS("main form button")), chromedp.WaitVisible(chromedp.CSS(".ok")))
	e, err := p.dps.GetEnrollment(t.Context(), b.GUID)
	if err != nil {
		t.Fatal(err)
	}
	var tags map[string]string
	_ = json.Unmarshal(e.InitialTwin.Tags, &tags)
	if e.IoTHubHostName != "hub-2.azure-devices.net" || tags["asset_tag"] != "AT-0042" {
		t.Errorf("enrollment: hub %s tags %v", e.IoTHubHostName, tags)
	}
}

// TestBrowserEditDeactivateReactivate: an activator edits an activated board's metadata and hub
// on its page (markup shown as text), deactivates it (the page says what that means), finds it
// in the list of deactivated boards, re-activates it; once the board has registered the page
// says why the metadata is no longer edited. Then 100 wrong codes from one user, and the
// administrator's audit page reporting them. Each page is saved as a PNG.
func TestBrowserEditDeactivateReactivate(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, func(c *Config) { c.Registrations = c.DPS.(*dps.Client) })
	c := newChrome(t, p)
	allowHubs(t, s, "acme", "hub-1.azure-devices.net", "hub-2.azure-devices.net")
	b := portaltest.ShipBoard(t, s, p.emu, "acme")
	boardURL := p.srv.URL + "/boards/" + b.GUID

	c.signUp(c.invite("ann@acme.example", "acme", records.RoleActivator))
	c.do("activate", chromedp.Navigate(c.labelURL(b)), chromedp.WaitVisible(chromedp.ID("m_location")),
		chromedp.SendKeys(chromedp.ID("m_location"), "Hall 3"), chromedp.SendKeys(chromedp.ID("m_chassisNumber"), "CH-0042"),
		chromedp.SetValue(chromedp.ID("hub"), "hub-1.azure-devices.net"),
		chromedp.Click(chromedp.CSS("main form button")), chromedp.WaitVisible(chromedp.CSS(".ok")))

	c.do("the board's page", chromedp.Navigate(boardURL), chromedp.WaitVisible(chromedp.ID("edit")))
	if got, _ := chromedp.Run(c.ctx, chromedp.Value(chromedp.ID("m_location"))); got != "Hall 3" {
		t.Errorf("the edit form's location: %q", got)
	}
	c.do("edit the metadata", chromedp.SetValue(chromedp.ID("m_location"), hostile), chromedp.SetValue(chromedp.ID("hub"), "hub-2.azure-devices.net"),
		chromedp.Click(chromedp.ID("save-metadata")), chromedp.WaitVisible(chromedp.ID("done")))
	if got := c.text("main"); !strings.Contains(got, hostile) || !strings.Contains(got, "metadata-edited") || !strings.Contains(got, "hub-2.azure-devices.net") {
		t.Errorf("after the edit: %s", got)
	}
	c.shot("board-edit")
	if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.IoTHubHostName != "hub-2.azure-devices.net" {
		t.Errorf("the edit's hub in DPS: %s", e.IoTHubHostName)
	}

	c.do("deactivate", chromedp.Click(chromedp.ID("deactivate")), chromedp.WaitVisible(chromedp.ID("deactivated-note")))
	if got := c.text("#state"); !strings.Contains(got, "deactivated") {
		t.Errorf("state after deactivating: %q", got)
	}
	if got := c.text("#deactivated-note"); !strings.Contains(got, "refuses this board's next registration") || !strings.Contains(got, "keeps its identity in its IoT hub") {
		t.Errorf("what deactivating means: %q", got)
	}
	c.shot("board-deactivated")
	c.do("the deactivated boards", chromedp.Navigate(p.srv.URL+"/boards?state=deactivated"), chromedp.WaitVisible(chromedp.CSS("main table")))
	if got := c.text("main table"); !strings.Contains(got, b.GUID) || !strings.Contains(got, "deactivated") {
		t.Errorf("the list of deactivated boards: %q", got)
	}
	c.shot("fleet-deactivated")

	c.do("re-activate", chromedp.Navigate(boardURL), chromedp.WaitVisible(chromedp.ID("reactivate")),
		chromedp.Click(chromedp.ID("reactivate")), chromedp.WaitVisible(chromedp.ID("done")))
	if got := c.text("#state"); !strings.Contains(got, "activated for hub-2.azure-devices.net") {
		t.Errorf("state after re-activating: %q", got)
	}
	c.shot("board-reactivated")

	portaltest.Register(t, p.emu, b)
	c.do("the registered board", chromedp.Navigate(boardURL), chromedp.WaitVisible(chromedp.ID("registered-note")))
	if got := c.text("#registered-note"); !strings.Contains(got, "would not reach it") {
		t.Errorf("why the metadata is not edited: %q", got)
	}
	c.shot("board-registered")

	eve := p.user("eve@acme.example", "acme", records.RoleActivator)
	other := portaltest.ShipBoard(t, s, p.emu, "acme")
	for i := range 100 {
		if pg := eve.get(fmt.Sprintf("/a?guid=%s&code=AAAAAAAA-AAAA%04d", other.GUID, i)); pg.status != http.StatusNotFound && pg.status != http.StatusTooManyRequests {
			t.Fatalf("guess %d: %d", i, pg.status)
		}
	}
	c.signOut()
	c.signUp(c.invite("ada@acme.example", "acme", records.RoleAdmin))
	c.do("the audit trail", chromedp.Navigate(p.srv.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.ID("wrong-codes")))
	if got := c.text("#wrong-codes"); !strings.Contains(got, "10 wrong codes for board "+other.GUID+" from address 127.0.0.1, and 90 more attempts refused as too many") {
		t.Errorf("the wrong codes' notice: %q", got)
	}
	c.shot("admin-audit-wrong-codes")
}

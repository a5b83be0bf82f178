package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/provision"
)

// editForm is the board page's metadata form as a browser sends it.
func editForm(csrf, etag, location, chassis, hub string) url.Values {
	return url.Values{"csrf": {csrf}, "etag": {etag}, "m_location": {location}, "m_chassisNumber": {chassis}, "hub": {hub}}
}

// activated activates b through the label's form as ann.
func activated(t *testing.T, ann *browser, b portaltest.Board, hub string) {
	t.Helper()
	form := ann.get("/a?guid=" + b.GUID + "&code=" + url.QueryEscape(b.Code))
	if done := ann.post("/a", activateForm(b.GUID, b.Code, field(t, csrfRE, form.body), field(t, etagRE, form.body), "Hall 3", "CH-1", hub)); done.status != 200 {
		t.Fatalf("activation: %d %s", done.status, done.body)
	}
}

// TestEditDeactivateReactivateFromTheBoardPage: on an activated board's page its metadata and
// hub are edited into the initial twin (markup shown as text); a viewer sees no forms and may
// post none; a page shown before someone else's change writes nothing; deactivated, it is shown
// so in the list and on its page, with what that means, and DPS refuses its registration;
// re-activated without a code, it registers; once registered, the edit is not offered and is
// refused; each change audited with who and from where.
func TestEditDeactivateReactivateFromTheBoardPage(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, func(c *Config) { c.Registrations = c.DPS.(*dps.Client) })
		allowHubs(t, s, "acme", "hub-1.azure-devices.net", "hub-2.azure-devices.net")
		ann := p.user("ann@acme.example", "acme", records.RoleActivator)
		vic := p.user("vic@acme.example", "acme", records.RoleViewer)
		b := portaltest.ShipBoard(t, s, p.emu, "acme")
		activated(t, ann, b, "hub-1.azure-devices.net")
		path := "/boards/" + b.GUID

		pg := ann.get(path)
		if pg.status != 200 || !strings.Contains(pg.body, `id="edit"`) || !strings.Contains(pg.body, `value="Hall 3"`) || !strings.Contains(pg.body, `id="deactivate"`) {
			t.Fatalf("activated board's page: %d %s", pg.status, pg.body)
		}
		csrf, etag := field(t, csrfRE, pg.body), field(t, etagRE, pg.body)
		bad := ann.post(path+"/metadata", editForm(csrf, etag, "", "CH-1", "hub-9.azure-devices.net"))
		if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="m_location-error"`) || !strings.Contains(bad.body, `id="hub-error"`) {
			t.Errorf("an edit with fields wrong: %d %s", bad.status, bad.body)
		}
		done := ann.post(path+"/metadata", editForm(csrf, etag, hostile, "CH-2", "hub-2.azure-devices.net"))
		if done.url != path || !strings.Contains(done.body, "&lt;script&gt;") || strings.Contains(done.body, "<script>") || !strings.Contains(done.body, "metadata-edited") || !strings.Contains(done.body, "were saved") {
			t.Fatalf("after the edit: %s %d %s", done.url, done.status, done.body)
		}
		e, _ := p.dps.GetEnrollment(t.Context(), b.GUID)
		var desired map[string]string
		_ = json.Unmarshal(e.InitialTwin.Properties.Desired, &desired)
		if e.IoTHubHostName != "hub-2.azure-devices.net" || desired["location"] != hostile || desired["chassisNumber"] != "CH-2" || e.ProvisioningStatus != dpsapi.StatusEnabled {
			t.Errorf("enrollment after the edit: %s %s %v", e.IoTHubHostName, e.ProvisioningStatus, desired)
		}
		if list := ann.get("/boards?q=" + url.QueryEscape("<script>")); !strings.Contains(list.body, b.GUID) {
			t.Errorf("the edited metadata is not searched: %s", list.body)
		}

		// The viewer sees the board, not its forms, and may not post them.
		if v := vic.get(path); strings.Contains(v.body, `id="edit"`) || strings.Contains(v.body, `id="deactivate"`) {
			t.Errorf("the viewer's page offers changes: %s", v.body)
		}
		vcsrf := field(t, csrfRE, vic.get(path).body)
		if v := vic.post(path+"/deactivate", url.Values{"csrf": {vcsrf}, "etag": {""}}); v.status != http.StatusForbidden {
			t.Errorf("the viewer's deactivation: %d", v.status)
		}

		// A page shown before someone else's change: nothing written, the change kept.
		pg = ann.get(path)
		etag = field(t, etagRE, pg.body)
		e, _ = p.dps.GetEnrollment(t.Context(), b.GUID)
		e.DeviceID = "set-by-someone-else"
		if _, err := p.dps.CreateOrUpdateEnrollment(t.Context(), e, e.ETag); err != nil {
			t.Fatal(err)
		}
		if st := ann.post(path+"/deactivate", url.Values{"csrf": {csrf}, "etag": {etag}}); st.status != http.StatusConflict || !strings.Contains(st.body, "Changed by someone else") {
			t.Errorf("a stale deactivation: %d %s", st.status, st.body)
		}
		if st := ann.post(path+"/metadata", editForm(csrf, etag, "Hall 9", "CH-9", "hub-1.azure-devices.net")); st.status != http.StatusConflict {
			t.Errorf("a stale edit: %d %s", st.status, st.body)
		}
		if after, _ := p.dps.GetEnrollment(t.Context(), b.GUID); after.DeviceID != "set-by-someone-else" || after.ProvisioningStatus != dpsapi.StatusEnabled || after.IoTHubHostName != "hub-2.azure-devices.net" {
			t.Errorf("the other change was overwritten: %s %s %s", after.DeviceID, after.ProvisioningStatus, after.IoTHubHostName)
		}

		// Deactivated: shown so, with what it means; DPS refuses the board.
		off := ann.post(path+"/deactivate", url.Values{"csrf": {csrf}, "etag": {field(t, etagRE, ann.get(path).body)}})
		if off.url != path || !strings.Contains(off.body, `<span class="state">deactivated</span>`) || !strings.Contains(off.body, `id="deactivated-note"`) ||
			!strings.Contains(off.body, "keeps its identity in its IoT hub") || !strings.Contains(off.body, `id="reactivate"`) || strings.Contains(off.body, `id="edit"`) {
			t.Fatalf("after deactivating: %s %d %s", off.url, off.status, off.body)
		}
		if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != dpsapi.StatusDisabled {
			t.Errorf("deactivated, the enrollment is %s", e.ProvisioningStatus)
		}
		if list := ann.get("/boards?state=deactivated"); !strings.Contains(list.body, b.GUID) || !strings.Contains(list.body, `<span class="state">deactivated</span>`) {
			t.Errorf("the list of deactivated boards: %s", list.body)
		}
		res, err := provision.Register(t.Context(), provision.Config{IDScope: p.emu.IDScope, Endpoint: p.emu.Endpoint, RootCAs: p.emu.RootCAs, Certificate: b.Cert})
		if err != nil || res.Status != dpsapi.RegistrationDisabled {
			t.Errorf("a deactivated board's registration: %v %+v", err, res)
		}
		if again := ann.post(path+"/deactivate", url.Values{"csrf": {csrf}}); again.status != http.StatusConflict || !strings.Contains(again.body, "The board is deactivated, not activated.") {
			t.Errorf("deactivating a deactivated board: %d %s", again.status, again.body)
		}

		// Re-activated, no code asked: it registers to its hub; then the edit is not offered.
		on := ann.post(path+"/reactivate", url.Values{"csrf": {csrf}, "etag": {field(t, etagRE, off.body)}})
		if on.url != path || !strings.Contains(on.body, `<span class="state">activated</span> for hub-2.azure-devices.net`) || !strings.Contains(on.body, "reactivated") {
			t.Fatalf("after re-activating: %s %d %s", on.url, on.status, on.body)
		}
		if hub := portaltest.Register(t, p.emu, b); hub != "hub-2.azure-devices.net" {
			t.Errorf("registered to %s", hub)
		}
		reg := ann.get(path)
		if !strings.Contains(reg.body, `id="registered-note"`) || !strings.Contains(reg.body, "twin lives in its IoT hub now") || strings.Contains(reg.body, `id="edit"`) {
			t.Errorf("a registered board's page: %s", reg.body)
		}
		if late := ann.post(path+"/metadata", editForm(csrf, field(t, etagRE, reg.body), "Hall 5", "CH-5", "hub-1.azure-devices.net")); late.status != http.StatusConflict || !strings.Contains(late.body, "would not reach it") {
			t.Errorf("an edit after the first boot: %d %s", late.status, late.body)
		}

		// Deactivated once registered: the page and the audit say the hub identity stays.
		off = ann.post(path+"/deactivate", url.Values{"csrf": {csrf}, "etag": {field(t, etagRE, reg.body)}})
		if !strings.Contains(off.body, "its identity in hub-2.azure-devices.net stays") {
			t.Errorf("deactivating a registered board: %s", off.body)
		}
		trail, _ := s.Audit(t.Context(), b.GUID)
		var changes []string
		for _, l := range trail {
			switch l.Action {
			case "metadata-edited", "deactivated", "reactivated":
				changes = append(changes, l.Action)
				if l.Actor != "ann@acme.example" || l.Address != "127.0.0.1" || l.Detail == "" {
					t.Errorf("audit line: %+v", l)
				}
			}
		}
		if strings.Join(changes, " ") != "metadata-edited deactivated reactivated deactivated" {
			t.Errorf("audited changes: %v", changes)
		}
		// Re-activating it restores it as registered.
		on = ann.post(path+"/reactivate", url.Values{"csrf": {csrf}, "etag": {field(t, etagRE, off.body)}})
		if !strings.Contains(on.body, `<span class="state">registered</span> to hub-2.azure-devices.net`) {
			t.Errorf("a registered board re-activated: %s", on.body)
		}
	})
}

var retryAfterRE = regexp.MustCompile(`^[1-9][0-9]*$`)

// TestWrongCodesAreSlowedAndReported: 100 wrong codes in a row for one board from one address,
// with the default budgets: the first few are "not found", the rest 429 with Retry-After; the
// organisation's admins see the notice on /admin/audit and the audit lines at 10 and 100.
func TestWrongCodesAreSlowedAndReported(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		p := start(t, s, nil)
		eve := p.user("eve@acme.example", "acme", records.RoleActivator)
		ada := p.user("ada@acme.example", "acme", records.RoleAdmin)
		b := portaltest.ShipBoard(t, s, p.emu, "acme")
		notFound, slowed := 0, 0
		for i := range 100 {
			req, _ := http.NewRequest(http.MethodGet, p.srv.URL+"/a?guid="+b.GUID+"&code=AAAAAAAA-AAAA"+strconv.Itoa(1000+i), nil)
			res, err := eve.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			switch res.StatusCode {
			case http.StatusNotFound:
				if slowed > 0 {
					t.Fatalf("guess %d was checked after %d were refused", i, slowed)
				}
				notFound++
			case http.StatusTooManyRequests:
				if ra := res.Header.Get("Retry-After"); !retryAfterRE.MatchString(ra) {
					t.Fatalf("guess %d: Retry-After %q", i, ra)
				}
				slowed++
			default:
				t.Fatalf("guess %d: %d", i, res.StatusCode)
			}
		}
		if notFound != 10 || slowed != 90 {
			t.Errorf("%d not found, %d slowed; want the board's budget of 10, then 429s", notFound, slowed)
		}
		pg := ada.get("/admin/audit")
		want := "10 wrong codes for board <span class=\"guid\">" + b.GUID + "</span> from address 127.0.0.1, and 90 more attempts refused as too many"
		if pg.status != 200 || !strings.Contains(pg.body, `id="wrong-codes"`) || !strings.Contains(pg.body, want) {
			t.Errorf("the admins' audit page lacks the notice %q: %s", want, pg.body)
		}
		for _, line := range []string{
			"10 wrong activation codes for board " + b.GUID + " from address 127.0.0.1",
			"10 wrong activation codes for board " + b.GUID + " from address 127.0.0.1, and 90 more attempts refused as too many",
		} {
			if !strings.Contains(pg.body, ": "+line+"</td>") {
				t.Errorf("the audit trail lacks %q", line)
			}
		}
		if !strings.Contains(pg.body, "<td>eve@acme.example</td><td><strong>wrong-codes</strong>") {
			t.Error("the report does not name the account that guessed")
		}
		if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != dpsapi.StatusDisabled {
			t.Error("a guess changed the enrollment")
		}
	})
}

package web

import (
	"bytes"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/pkg/dps"
)

// upload posts csvText to the import as a browser's file form does.
func (b *browser) upload(csrf, csvText string) page {
	b.p.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf", csrf)
	fw, _ := mw.CreateFormFile("file", "boards.csv")
	_, _ = fw.Write([]byte(csvText))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.p.srv.URL+"/boards/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.p.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

const hostile = `=1+1 <script>alert("x")</script>`

// fleetRows is a CSV file of five rows: one to activate (its location markup and a formula),
// a wrong code, a bad hub, another organisation's board, and the first board again.
func fleetRows(good, wrong, badHub, theirs portaltest.Board) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.WriteAll([][]string{
		{"guid", "code", "hub", "location", "chassisNumber"},
		{strings.ToUpper(good.GUID), good.Code, "Hub-9.azure-devices.net", hostile, "-CH-7"},
		{wrong.GUID, "AAAAAAAA-AAAAAAAA", "hub-9.azure-devices.net", "Hall 2", "CH-8"},
		{badHub.GUID, badHub.Code, "not a hub", "Hall 3", "CH-9"},
		{theirs.GUID, theirs.Code, "hub-9.azure-devices.net", "Hall 4", "CH-10"},
		{good.GUID, good.Code, "hub-9.azure-devices.net", "Hall 5", "CH-11"},
	})
	return "\ufeff" + strings.ReplaceAll(b.String(), "\n", "\r\n")
}

func TestFleetImportSearchBoardPageExport(t *testing.T) {
	portaltest.Backends(t, func(t *testing.T, s *records.Store) {
		var p *portal
		p = start(t, s, func(c *Config) { c.Registrations = c.DPS.(*dps.Client) })
		ann := p.user("ann@acme.example", "acme", records.RoleActivator)
		good, wrong, badHub := portaltest.ShipBoard(t, s, p.emu, "acme"), portaltest.ShipBoard(t, s, p.emu, "acme"), portaltest.ShipBoard(t, s, p.emu, "acme")
		theirs := portaltest.ShipBoard(t, s, p.emu, "globex")
		allowHubs(t, s, "acme", "hub-9.azure-devices.net")
		csrf := field(t, csrfRE, ann.get("/boards/import").body)

		rep := ann.upload(csrf, fleetRows(good, wrong, badHub, theirs))
		if rep.status != 200 || !strings.Contains(rep.body, "5 rows: 1 activated, 2 refused, 2 not found") {
			t.Fatalf("report: %d %s", rep.status, rep.body)
		}
		for _, want := range []string{
			`<td>2</td><td class="guid">` + good.GUID + `</td><td>activated</td>`,
			`<td>3</td><td class="guid">` + wrong.GUID + `</td><td>not found</td>`,
			`<td>4</td><td class="guid">` + badHub.GUID + `</td><td>refused</td><td>hub: The factory has not allowed the hub`,
			`<td>5</td><td class="guid">` + theirs.GUID + `</td><td>not found</td>`,
			`<td>6</td><td class="guid">` + good.GUID + `</td><td>refused</td><td>The same GUID as row 2`,
		} {
			if !strings.Contains(rep.body, want) {
				t.Errorf("report lacks %s", want)
			}
		}
		e, _ := p.dps.GetEnrollment(t.Context(), good.GUID)
		if e.ProvisioningStatus != "enabled" || e.IoTHubHostName != "hub-9.azure-devices.net" {
			t.Errorf("imported board's enrollment: %s %s", e.ProvisioningStatus, e.IoTHubHostName)
		}
		for _, b := range []portaltest.Board{wrong, badHub, theirs} {
			if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != "disabled" {
				t.Errorf("%s was enabled by a refused row", b.GUID)
			}
		}

		// Found by the text of its location, shown as text.
		list := ann.get("/boards?q=" + url.QueryEscape("SCRIPT>alert"))
		if !strings.Contains(list.body, good.GUID) || strings.Contains(list.body, wrong.GUID) || !strings.Contains(list.body, "1 matching board.") {
			t.Errorf("text search: %s", list.body)
		}
		if strings.Contains(list.body, "<script>") || !strings.Contains(list.body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("the location's markup was not shown as text: %s", list.body)
		}
		if pg := ann.get("/boards?guid=" + good.GUID[:13] + "&state=activated"); !strings.Contains(pg.body, good.GUID) || strings.Count(pg.body, `class="guid"`) != 1 {
			t.Errorf("GUID prefix and state: %s", pg.body)
		}

		// The board boots and registers; its page reads DPS now and records it.
		hub := portaltest.Register(t, p.emu, good)
		pg := ann.get("/boards/" + good.GUID)
		if pg.status != 200 || !strings.Contains(pg.body, "registered</span> to "+hub) || !strings.Contains(pg.body, "assigned to "+hub) ||
			!strings.Contains(pg.body, "<td>activated</td>") || !strings.Contains(pg.body, "from a CSV file") || strings.Contains(pg.body, "<script>") {
			t.Errorf("board page: %d %s", pg.status, pg.body)
		}
		if reg := ann.get("/boards?state=registered"); !strings.Contains(reg.body, good.GUID) {
			t.Errorf("registered boards: %s", reg.body)
		}
		for _, g := range []string{theirs.GUID, "ffffffff-0000-0000-0000-000000000000"} {
			if pg := ann.get("/boards/" + g); pg.status != http.StatusNotFound || !strings.Contains(pg.body, "Board not found") || strings.Contains(pg.body, "globex") {
				t.Errorf("board %s: %d %s", g, pg.status, pg.body)
			}
		}

		// The export of the list as searched, formulas defused.
		ex := ann.get("/boards/export.csv?state=registered")
		rows, err := csv.NewReader(strings.NewReader(ex.body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("export: %v %q", err, ex.body)
		}
		if strings.Join(rows[0], ",") != "guid,state,shipped_at,activated_at,hub,registered_hub,registered_at,location,chassisNumber" {
			t.Errorf("export header: %v", rows[0])
		}
		if r := rows[1]; r[0] != good.GUID || r[1] != "registered" || r[5] != hub || r[7] != "'"+hostile || r[8] != "'-CH-7" {
			t.Errorf("export row: %q", r)
		}
	})
}

func TestImportRefusals(t *testing.T) {
	s := portaltest.SQLite(t)
	p := start(t, s, nil)
	ann := p.user("ann@acme.example", "acme", records.RoleActivator)
	b := portaltest.ShipBoard(t, s, p.emu, "acme")
	csrf := field(t, csrfRE, ann.get("/boards/import").body)
	for name, c := range map[string]struct{ csv, want string }{
		"unknown column": {"guid,code,hub,colour\n" + b.GUID + ",x,y,z\n", `unknown column &#34;colour&#34;`},
		"bare quote":     {"guid,code,hub\n" + b.GUID + `,a"b,c` + "\n", "double quote inside"},
		"no rows":        {"guid,code,hub\n", "no rows"},
		"too many rows":  {"guid,code,hub\n" + strings.Repeat("a,b,c\n", ImportMaxRows+1), "more than 1000 rows"},
	} {
		pg := ann.upload(csrf, c.csv)
		if pg.status != http.StatusUnprocessableEntity || !strings.Contains(pg.body, c.want) || !strings.Contains(pg.body, "Nothing was activated") {
			t.Errorf("%s: %d %s", name, pg.status, pg.body)
		}
	}
	if pg := ann.upload(csrf, "guid,code,hub\n"+strings.Repeat("x", ImportMaxBytes+1)); pg.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a file over the limit: %d", pg.status)
	}
	if e, _ := p.dps.GetEnrollment(t.Context(), b.GUID); e.ProvisioningStatus != "disabled" {
		t.Error("a refused file changed an enrollment")
	}
	vic := p.user("vic@acme.example", "acme", records.RoleViewer)
	vcsrf := field(t, csrfRE, vic.get("/boards").body)
	if pg := vic.upload(vcsrf, "guid,code,hub\n"+b.GUID+","+b.Code+",hub.example.net\n"); pg.status != http.StatusForbidden {
		t.Errorf("viewer's import: %d", pg.status)
	}
	if pg := ann.upload("wrong", "guid,code,hub\n"+b.GUID+","+b.Code+",hub.example.net\n"); pg.status != http.StatusForbidden {
		t.Errorf("import without the form token: %d", pg.status)
	}
}

// A page link's cursor carries the shipment time as the records store it, trailing zeros and
// all: it is read back whatever its nanoseconds.
func TestCursorTimesWithTrailingZeros(t *testing.T) {
	for _, at := range []string{"2026-12-03T17:26:26.004863520Z", "2026-12-03T17:26:26.000000000Z", "2026-12-03T17:26:26.123456789Z"} {
		if _, err := parseListQuery(url.Values{"after": {at + " 00000000-0000-4000-8000-000000000002"}}); err != nil {
			t.Errorf("cursor at %s refused: %v", at, err)
		}
	}
	if _, err := parseListQuery(url.Values{"after": {"2026-12-03T17:26:26.00486352Z 00000000-0000-4000-8000-000000000002"}}); err == nil {
		t.Error("a cursor time not as the records write it was accepted")
	}
}

package pageload_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/pageload"
	"github.com/oobtpm/oob/internal/portal/password"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
	"github.com/oobtpm/oob/internal/portal/web"
	"github.com/oobtpm/oob/pkg/dps"
)

// org is one organisation of the load: its fleet's size, its users (the first admins of
// them administrators) and how many of its boards have a label to open.
type org struct {
	name          string
	boards        int
	users, admins int
	labels        int
}

// portal is the real portal's handler over TLS on loopback, on SQLite, with the emulator as DPS
// (activation and registration reads), the organisations' fleets seeded and their users
// invited, each with a password set.
type portal struct {
	url   string
	tls   *tls.Config
	users []pageload.User
}

const pw = "a long passphrase for the load"

func start(tb testing.TB, orgs []org) *portal {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	s, err := records.OpenSQLite(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	emu := emulatortest.Start(tb)
	client := emu.Client(tb, dps.Options{})
	// One hash for every user: each is argon2id at the portal's cost, and the load signs in
	// with it.
	hash, err := password.Hash(pw)
	if err != nil {
		tb.Fatal(err)
	}
	p := &portal{}
	first := 0
	for _, o := range orgs {
		portaltest.SeedFleet(tb, dir, o.name, first, o.boards)
		first += o.boards
		portaltest.AllowHubs(tb, s, o.name, "hub-1.azure-devices.net")
		var labels []pageload.Label
		for range o.labels {
			b := portaltest.ShipBoard(tb, s, emu, o.name)
			labels = append(labels, pageload.Label{GUID: b.GUID, Code: b.Code})
		}
		for i := range o.users {
			role := records.RoleActivator
			if i < o.admins {
				role = records.RoleAdmin
			}
			email := fmt.Sprintf("user%02d@%s.example", i, o.name)
			_, inv := web.NewInvite(email, o.name, role, time.Now(), time.Hour)
			if err := s.AddInvite(ctx, inv, "factory"); err != nil {
				tb.Fatal(err)
			}
			if _, err := s.AcceptInvite(ctx, inv.TokenSHA256, hash, "192.0.2.1", time.Now()); err != nil {
				tb.Fatal(err)
			}
			p.users = append(p.users, pageload.User{Email: email, Password: pw, Admin: role == records.RoleAdmin, Labels: labels})
		}
	}
	// Every simulated user comes from 127.0.0.1 and opens its labels' forms many times: the
	// address's, the accounts' and the boards' budgets would refuse them (429) within seconds,
	// so they are raised here; they are what the portal's own tests check.
	many := func() *ratelimit.Limiter { return ratelimit.New(1<<30, time.Nanosecond) }
	w, err := web.New(web.Config{Store: s, DPS: client, Registrations: client,
		Limits: web.Limits{Account: many(), Board: many(), Address: many(), Login: many()}})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewTLSServer(w.Handler())
	tb.Cleanup(srv.Close)
	p.url = srv.URL
	p.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return p
}

// TestRunSignsInAndViewsEveryKindOfPage runs a small load: every user signs in, each kind of
// page is viewed with 200s only, and the users sign out with their form tokens.
func TestRunSignsInAndViewsEveryKindOfPage(t *testing.T) {
	p := start(t, []org{{name: "acme", boards: 120, users: 3, admins: 1, labels: 2}, {name: "globex", boards: 30, users: 1, labels: 1}})
	res, err := pageload.Run(t.Context(), pageload.Config{URL: p.url, TLS: p.tls, Users: p.users, Requests: 30, Time: time.Minute,
		Searches: []string{"q=hall+7", "state=registered", "guid=0"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 {
		t.Fatalf("%d errors: %s", res.Errors, strings.Join(res.Failures, "\n"))
	}
	if res.Done != 4*30 || res.SignIn.Count != 4 {
		t.Errorf("%d pages of %d, %d sign-ins of 4", res.Done, 4*30, res.SignIn.Count)
	}
	for _, k := range pageload.Kinds {
		if res.Pages[k].Count == 0 {
			t.Errorf("no %s page viewed: %s", k, res.JSON())
		}
	}
}

// TestRunRefusesAWrongPassword: a user who cannot sign in stops the run with a sentence naming
// the user, rather than counting pages that were the login form.
func TestRunRefusesAWrongPassword(t *testing.T) {
	p := start(t, []org{{name: "acme", boards: 10, users: 1}})
	u := p.users[0]
	u.Password = "not the password at all"
	_, err := pageload.Run(t.Context(), pageload.Config{URL: p.url, TLS: p.tls, Users: []pageload.User{u}, Requests: 1, Time: time.Minute})
	if err == nil || !strings.Contains(err.Error(), u.Email+" could not sign in") {
		t.Fatalf("err = %v", err)
	}
}

// BenchmarkPages is the page-latency run: 50 users (45 of acme, 100,000 boards; 5 of globex,
// 10,000) view 40 pages each, at most 60 s, against the portal over TLS on loopback with the
// emulator as DPS: back-to-back, each user's next page asked for as soon as the last one came
// (what the portal serves at most), and reading, a mean second between a user's pages. Latencies
// by kind of page, pages per second and errors are reported, and written as JSON to
// $OOB_PAGES_FIGURES when set; any error fails it. Use -benchtime 1x.
func BenchmarkPages(b *testing.B) {
	p := start(b, []org{{name: "acme", boards: 100_000, users: 45, admins: 3, labels: 20}, {name: "globex", boards: 10_000, users: 5, admins: 1, labels: 5}})
	figures := map[string]*pageload.Result{}
	for _, run := range []struct {
		name  string
		think time.Duration
	}{{"back-to-back", 0}, {"reading", time.Second}} {
		b.Run(run.name, func(b *testing.B) {
			cfg := pageload.Config{URL: p.url, TLS: p.tls, Users: p.users, Requests: 40, Time: time.Minute, Think: run.think,
				Searches: []string{"q=hall+7%2C+site", "q=ch-0424", "state=registered", "state=activated", "guid=3f", "guid=9e37"}, Seed: 1}
			var res *pageload.Result
			for range b.N {
				var err error
				if res, err = pageload.Run(b.Context(), cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if res.Errors != 0 {
				b.Fatalf("%d errors: %s", res.Errors, strings.Join(res.Failures, "\n"))
			}
			figures[run.name] = res
			b.ReportMetric(res.PerSecond, "pages/s")
			b.ReportMetric(res.All.P50, "p50-ms")
			b.ReportMetric(res.All.P95, "p95-ms")
			for _, k := range pageload.Kinds {
				b.ReportMetric(res.Pages[k].P95, k+"-p95-ms")
			}
		})
	}
	if f := os.Getenv("OOB_PAGES_FIGURES"); f != "" {
		data, _ := json.MarshalIndent(figures, "", "  ")
		if err := os.WriteFile(f, append(data, '\n'), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

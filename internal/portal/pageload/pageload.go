// Package pageload drives the portal's pages as its signed-in users do, many at once, and
// measures how long each kind of page takes: each simulated user signs in through the login
// form (its own cookies and connections, as a browser has), views a bounded mix of pages — the
// fleet list and its next pages, searches, a board's page, a label's activation form, the audit
// trail for administrators — and signs out with its form token. It is the load behind the
// portal's page-latency benchmark.
package pageload

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Kinds of page, as Result names them.
const (
	KindFleet    = "fleet"         // GET /boards, the list's first page
	KindNext     = "fleet-next"    // the list's Next link
	KindSearch   = "search"        // GET /boards with a search
	KindBoard    = "board"         // GET /boards/{guid}, a board seen in the list
	KindActivate = "activate-form" // GET /a?guid=…&code=…, a label's link
	KindAudit    = "audit"         // GET /admin/audit, administrators only
)

// Kinds lists the page kinds in the order reports show them.
var Kinds = []string{KindFleet, KindNext, KindSearch, KindBoard, KindActivate, KindAudit}

// User is one account the load signs in as.
type User struct {
	Email, Password string
	// Admin users also view the audit trail.
	Admin bool
	// Labels are boards of the user's organisation with their activation codes, whose
	// activation form the user opens; none, and the user opens no activation form.
	Labels []Label
}

// Label is a board's GUID and the activation code on its label.
type Label struct{ GUID, Code string }

// Config is one load run.
type Config struct {
	// URL is the portal's base, https://host:port.
	URL string
	// TLS is the client's TLS configuration (the portal's CA among its RootCAs); it must verify.
	TLS *tls.Config
	// Users sign in and view pages at once, each on its own connections with its own cookies.
	Users []User
	// Requests is how many pages each user views (signing in and out not counted).
	Requests int
	// Time bounds the page views: no page is asked for after it has passed since the first.
	Time time.Duration
	// Think is the mean pause between a user's pages, as a person reads one before the next,
	// and before the first (each pause drawn evenly from 0 to twice Think, so that users do
	// not move in step); zero
	// sends each user's pages back to back, which measures what the portal can serve at most.
	Think time.Duration
	// Searches are the list's search queries users pick from, as URL query strings
	// ("q=hall+7", "state=registered", "guid=3fa"); none, and users do not search.
	Searches []string
	// SignInsAtOnce bounds the sign-ins under way together (each an argon2id hash of 64 MiB
	// on the server); zero means 2. Signing in is done before the page views start.
	SignInsAtOnce int
	// Seed makes the users' choices repeatable.
	Seed uint64
}

// Stats are the latencies of one kind of request.
type Stats struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	Max   float64 `json:"maxMs"`
}

// Result is what a run measured.
type Result struct {
	Users int `json:"users"`
	// Think is Config.Think, in seconds.
	Think float64 `json:"thinkSeconds"`
	// Planned is Users × Requests; Done the page views made (fewer when Time ran out).
	Planned int `json:"planned"`
	Done    int `json:"done"`
	// Seconds is the page views' wall time, PerSecond Done over it.
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"pagesPerSecond"`
	// Pages are the latencies by kind, All those of every page view.
	Pages map[string]Stats `json:"pages"`
	All   Stats            `json:"all"`
	// SignIn is the login form's POST (the password's argon2id check).
	SignIn Stats `json:"signIn"`
	// Slowest are the slowest page views, slowest first, to find where a long tail comes from.
	Slowest []Slow `json:"slowest"`
	// Errors counts answers other than 2xx (and the redirects sign-in and sign-out give) and
	// requests that failed; Failures are the first few, said.
	Errors   int      `json:"errors"`
	Failures []string `json:"failures,omitempty"`
}

// JSON returns r as indented JSON.
func (r *Result) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

// Slow is one slow page view: its path, its time, and when it started after the first.
type Slow struct {
	Path  string  `json:"path"`
	Ms    float64 `json:"ms"`
	Start float64 `json:"startSeconds"`
}

// maxSlowest is how many slow page views a Result lists.
const maxSlowest = 5

// maxFailures is how many failures a Result says.
const maxFailures = 10

// Run signs the users in, runs their page views at once and signs them out. Its error is for a
// load that could not run (bad configuration, a user who could not sign in); page views that
// failed are counted in the Result, which the caller checks.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Users) == 0 || cfg.Requests <= 0 || cfg.Time <= 0 {
		return nil, errors.New("pageload: give users, a number of requests per user and a time bound")
	}
	if cfg.TLS == nil || cfg.TLS.InsecureSkipVerify {
		return nil, errors.New("pageload: give a TLS configuration that verifies the portal's certificate (its CA in RootCAs)")
	}
	atOnce := cfg.SignInsAtOnce
	if atOnce <= 0 {
		atOnce = 2
	}
	rec := &recorder{samples: map[string][]time.Duration{}}
	sessions := make([]*session, len(cfg.Users))
	sem := make(chan struct{}, atOnce)
	var wg sync.WaitGroup
	errs := make([]error, len(cfg.Users))
	for i, u := range cfg.Users {
		sessions[i] = newSession(cfg, u, i, rec)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = sessions[i].signIn(ctx)
		})
	}
	wg.Wait()
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	start := time.Now()
	rec.mu.Lock()
	rec.start = start
	rec.mu.Unlock()
	deadline := start.Add(cfg.Time)
	for _, s := range sessions {
		wg.Go(func() { s.browse(ctx, deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, s := range sessions {
		s.signOut(ctx)
	}
	res := rec.result()
	res.Users, res.Planned, res.Think = len(cfg.Users), len(cfg.Users)*cfg.Requests, cfg.Think.Seconds()
	res.Seconds = elapsed.Seconds()
	res.PerSecond = float64(res.Done) / elapsed.Seconds()
	return res, nil
}

// recorder collects latencies and failures from every user.
type recorder struct {
	mu       sync.Mutex
	start    time.Time
	samples  map[string][]time.Duration
	slowest  []Slow
	errors   int
	failures []string
}

func (r *recorder) add(kind, path string, t0 time.Time, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[kind] = append(r.samples[kind], d)
	if kind == signInKind {
		return
	}
	r.slowest = append(r.slowest, Slow{Path: path, Ms: ms(d), Start: t0.Sub(r.start).Seconds()})
	slices.SortFunc(r.slowest, func(a, b Slow) int { return cmp.Compare(b.Ms, a.Ms) })
	if len(r.slowest) > maxSlowest {
		r.slowest = r.slowest[:maxSlowest]
	}
}

func (r *recorder) fail(format string, args ...any) {
	r.mu.Lock()
	r.errors++
	if len(r.failures) < maxFailures {
		r.failures = append(r.failures, fmt.Sprintf(format, args...))
	}
	r.mu.Unlock()
}

// signInKind is the sign-in's samples' key, apart from the pages'.
const signInKind = "sign-in"

func (r *recorder) result() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{Pages: map[string]Stats{}, Errors: r.errors, Failures: slices.Clone(r.failures), Slowest: slices.Clone(r.slowest)}
	var all []time.Duration
	for kind, ds := range r.samples {
		if kind == signInKind {
			res.SignIn = stats(ds)
			continue
		}
		res.Pages[kind] = stats(ds)
		all = append(all, ds...)
	}
	res.All, res.Done = stats(all), len(all)
	return res
}

// stats returns the count, median, 95th percentile (nearest rank) and maximum of ds.
func stats(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	rank := func(p float64) time.Duration { return ds[int(math.Ceil(p*float64(len(ds))))-1] }
	return Stats{Count: len(ds), P50: ms(rank(0.50)), P95: ms(rank(0.95)), Max: ms(ds[len(ds)-1])}
}

// ms is d in milliseconds to two decimals.
func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// newTransport is a browser's: its own connections to the portal, kept open between pages.
func newTransport(c *tls.Config) *http.Transport {
	return &http.Transport{TLSClientConfig: c.Clone(), ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 6, IdleConnTimeout: time.Minute}
}

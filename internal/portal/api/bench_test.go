package api_test

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
	"github.com/oobtpm/oob/internal/portal/portaltest"
	"github.com/oobtpm/oob/internal/portal/ratelimit"
	"github.com/oobtpm/oob/internal/portal/web"
)

// BenchmarkAPIActivation activates b.N shipped boards through POST …/activation, 50 clients at
// once, the portal and the DPS emulator each over TLS on loopback, SQLite records. Each
// activation is the code check, DPS's read and If-Match write, and the records' transaction.
// Two runs, as the pages' benchmark has: back-to-back (each client's next activation sent as
// soon as the last one answered: what the portal serves at most, where a request's latency is
// mostly its wait behind the 49 others) and paced (a pause of 0–2 s, a second on average,
// between a client's activations, as people activating labels or a system working through a
// list send them). The attempt budgets are raised (every request comes from one address and
// token); boards are shipped and pre-enrolled, and each client's connection opened, before the
// clock starts. Use a bounded count: -benchtime 500x.
func BenchmarkAPIActivation(b *testing.B) {
	for _, run := range []struct {
		name  string
		pause time.Duration
	}{{"back-to-back", 0}, {"paced", time.Second}} {
		b.Run(run.name, func(b *testing.B) { benchmarkActivation(b, run.pause) })
	}
}

func benchmarkActivation(b *testing.B, pause time.Duration) {
	const clients = 50
	s := portaltest.SQLite(b)
	p := start(b, s, func(c *web.Config) {
		many := func() *ratelimit.Limiter { return ratelimit.New(1<<30, time.Nanosecond) }
		c.Limits.Account, c.Limits.Board, c.Limits.Address = many(), many(), many()
	})
	tok, _ := p.token("acme", "bench", records.RoleActivator)
	portaltest.AllowHubs(b, s, "acme", "hub-1.azure-devices.net")
	boards := make(chan portaltest.Board, b.N)
	for range b.N {
		boards <- portaltest.ShipBoard(b, s, p.emu, "acme")
	}
	close(boards)
	c := p.srv.Client()
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = clients
	// Each client's connection is opened (its TLS handshake done) before the clock starts, as
	// a system sending activations keeps its connections.
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			if r := p.send(c, http.MethodGet, "/api/v1/boards?limit=1", tok, nil, nil); r.status != http.StatusOK {
				b.Errorf("GET /api/v1/boards: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	var mu sync.Mutex
	var took []time.Duration
	b.ResetTimer()
	start := time.Now()
	for i := range clients {
		rnd := rand.New(rand.NewPCG(1, uint64(i)))
		wg.Go(func() {
			for bd := range boards {
				if pause > 0 {
					time.Sleep(time.Duration(rnd.Int64N(int64(2 * pause))))
				}
				t0 := time.Now()
				r := p.send(c, http.MethodPost, "/api/v1/boards/"+bd.GUID+"/activation", tok, activation(bd.Code, "hub-1.azure-devices.net", "Hall 3", "CH-1"), nil)
				d := time.Since(t0)
				if r.status != http.StatusOK {
					b.Errorf("activation %s: %d %s", bd.GUID, r.status, r.body)
					return
				}
				mu.Lock()
				took = append(took, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(len(took))/elapsed.Seconds(), "activations/s")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

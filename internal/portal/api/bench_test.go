package api_test

import (
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
// The attempt budgets are raised (every request comes from one address and token); boards are
// shipped and pre-enrolled before the clock starts. Use a bounded count: -benchtime 500x.
func BenchmarkAPIActivation(b *testing.B) {
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
	var mu sync.Mutex
	var took []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for bd := range boards {
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
}

package factory

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/cli/dataflags"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/internal/factory/pgtest"
	"github.com/oobtpm/oob/internal/factory/records"
)

// BenchmarkCertifyBoards is the factory at a line's pace, end to end: stations send boards'
// CSRs to `oob-factory serve` over HTTPS, four at a time, and the clock stops when the emulator
// holds every board's disabled enrollment, read back. boards/s counts that whole path; the
// latencies are a station's, CSR sent to certificate received (DPS is not on that path: the
// outbox sends behind it). The boards' keys and CSRs are made before the clock starts.
func BenchmarkCertifyBoards(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchmarkCertify(b, "") })
	b.Run("postgres", func(b *testing.B) { benchmarkCertify(b, pgtest.URL(b)) })
}

func benchmarkCertify(b *testing.B, database string) {
	const stations = 4
	if database != "" {
		b.Setenv(dataflags.EnvDatabase, database)
	}
	emu := emulatortest.Start(b)
	dir := b.TempDir()
	s := startServe(b, dir, emu)
	var opened DataFlags
	opened.Dir = dir
	st, err := opened.open(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()

	csrs := make([]string, b.N)
	for i := range csrs {
		csrs[i] = csr(b, fmt.Sprintf("%08x-0000-4000-8000-000000000000", i))
	}
	latencies := make([]time.Duration, b.N)
	next := make(chan int)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range stations {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				status, err := s.simpleEnroll(csrs[i])
				if err != nil || status != http.StatusOK {
					b.Errorf("board %d: %d %v", i, status, err)
				}
				latencies[i] = time.Since(t0)
			}
		})
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	for {
		done, err := st.Enrollments(context.Background(), records.OutboxDone)
		if err != nil {
			b.Fatal(err)
		}
		if len(done) == b.N {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("%d of %d boards pre-enrolled after 5 min", len(done), b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "boards/s")
	b.ReportMetric(ms(latencies[len(latencies)/2]), "p50-ms")
	b.ReportMetric(ms(latencies[len(latencies)*99/100]), "p99-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package emulator

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkPutEnrollment measures create throughput over TLS with parallel clients; every PUT is
// one fsynced store transaction.
func BenchmarkPutEnrollment(b *testing.B) {
	env := newTestEnv(b, nil)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%08d", n.Add(1))
			if r := env.do(http.MethodPut, "/enrollments/"+id, tpmEnrollment(b, id), nil); r.status != http.StatusOK {
				b.Errorf("put: %d", r.status)
			}
		}
	})
}

// BenchmarkGetEnrollment measures read throughput over TLS with parallel clients.
func BenchmarkGetEnrollment(b *testing.B) {
	env := newTestEnv(b, nil)
	env.do(http.MethodPut, "/enrollments/bench", tpmEnrollment(b, "bench"), nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := env.do(http.MethodGet, "/enrollments/bench", nil, nil); r.status != http.StatusOK {
				b.Errorf("get: %d", r.status)
			}
		}
	})
}

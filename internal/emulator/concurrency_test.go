package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// TestConcurrentClients runs many clients at once against one emulator: each creates, reads,
// updates and queries, and half of them also fight over one shared enrollment with If-Match. Run
// with -race. Every acknowledged write must be there afterwards and no two writes may share an
// ETag.
func TestConcurrentClients(t *testing.T) {
	env := newTestEnv(t, nil)
	const clients, perClient = 32, 8
	env.enrollment(env.do(http.MethodPut, "/enrollments/shared", tpmEnrollment(t, "shared"), nil), http.StatusOK)

	var (
		mu    sync.Mutex
		etags = map[string]bool{}
		wins  int
		wg    sync.WaitGroup
	)
	record := func(etag string) {
		mu.Lock()
		defer mu.Unlock()
		if etags[etag] {
			t.Errorf("etag %s issued twice", etag)
		}
		etags[etag] = true
	}
	errs := make(chan error, clients*perClient*4)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				id := fmt.Sprintf("c%02d-%02d", c, i)
				r := env.do(http.MethodPut, "/enrollments/"+id, tpmEnrollment(t, id), nil)
				if r.status != http.StatusOK {
					errs <- fmt.Errorf("put %s: %d %s", id, r.status, r.body)
					continue
				}
				var e dpsapi.IndividualEnrollment
				_ = json.Unmarshal(r.body, &e)
				record(e.ETag)
				if r = env.do(http.MethodGet, "/enrollments/"+id, nil, nil); r.status != http.StatusOK {
					errs <- fmt.Errorf("get %s: %d", id, r.status)
				}
				if c%2 == 0 {
					cur := env.do(http.MethodGet, "/enrollments/shared", nil, nil)
					var s dpsapi.IndividualEnrollment
					_ = json.Unmarshal(cur.body, &s)
					r = env.do(http.MethodPut, "/enrollments/shared", tpmEnrollment(t, "shared"), map[string]string{"If-Match": s.ETag})
					switch r.status {
					case http.StatusOK:
						_ = json.Unmarshal(r.body, &s)
						record(s.ETag)
						mu.Lock()
						wins++
						mu.Unlock()
					case http.StatusPreconditionFailed:
					default:
						errs <- fmt.Errorf("conditional put: %d %s", r.status, r.body)
					}
				}
				if i == perClient-1 {
					if r = env.do(http.MethodPost, "/enrollments/query", map[string]string{"query": "*"}, map[string]string{"x-ms-max-item-count": "50"}); r.status != http.StatusOK {
						errs <- fmt.Errorf("query: %d", r.status)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	page, _, err := env.store.QueryEnrollments(t.Context(), "", 10000)
	if err != nil || len(page) != clients*perClient+1 {
		t.Fatalf("%d enrollments stored, want %d (%v)", len(page), clients*perClient+1, err)
	}
	if wins == 0 {
		t.Fatal("no conditional update succeeded")
	}
}

package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

func TestQueryPaging(t *testing.T) {
	env := newTestEnv(t, nil)
	const n = 25
	for i := range n {
		id := fmt.Sprintf("q-%02d", i)
		env.enrollment(env.do(http.MethodPut, "/enrollments/"+id, tpmEnrollment(t, id), nil), http.StatusOK)
	}
	pages := queryPages[dpsapi.IndividualEnrollment](env, "/enrollments/query", "Enrollment", 10)
	var all []string
	for _, page := range pages {
		for _, e := range page {
			if e.ETag == "" || e.Attestation == nil {
				t.Fatalf("query item incomplete: %+v", e)
			}
			all = append(all, e.RegistrationID)
		}
	}
	if len(pages) != 3 || len(all) != n || all[0] != "q-00" || all[n-1] != "q-24" {
		t.Fatalf("%d pages, items %v", len(pages), all)
	}

	// Without a page size everything fits one page.
	r := env.do(http.MethodPost, "/enrollments/query", map[string]string{"query": "SELECT * FROM enrollments"}, nil)
	var page []dpsapi.IndividualEnrollment
	if err := json.Unmarshal(r.body, &page); err != nil || len(page) != n || r.header.Get("x-ms-continuation") != "" {
		t.Fatalf("unpaged query: %d items, continuation %q, %v", len(page), r.header.Get("x-ms-continuation"), err)
	}
}

func TestQueryErrors(t *testing.T) {
	env := newTestEnv(t, nil)
	cases := []struct {
		name    string
		body    any
		headers map[string]string
		code    int
	}{
		{"no query", map[string]string{}, nil, httpapi.CodeInvalidArgument},
		{"unsupported query", map[string]string{"query": "SELECT * FROM enrollments WHERE x = 1"}, nil, httpapi.CodeInvalidArgument},
		{"bad page size", map[string]string{"query": "*"}, map[string]string{"x-ms-max-item-count": "zero"}, httpapi.CodeInvalidArgument},
		{"negative page size", map[string]string{"query": "*"}, map[string]string{"x-ms-max-item-count": "-1"}, httpapi.CodeInvalidArgument},
		{"forged continuation", map[string]string{"query": "*"}, map[string]string{"x-ms-continuation": "!!"}, httpapi.CodeInvalidArgument},
		{"not JSON", "{", nil, httpapi.CodeMalformedBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := env.do(http.MethodPost, "/enrollments/query", c.body, c.headers)
			if r.status != c.code/1000 || r.errBody(t).ErrorCode != c.code {
				t.Fatalf("status %d, want code %d: %s", r.status, c.code, r.body)
			}
		})
	}
	r := env.do(http.MethodPost, "/enrollments/query", map[string]string{"query": "*"}, nil)
	if r.status != http.StatusOK || string(r.body) != "[]\n" {
		t.Fatalf("empty query: %d %q", r.status, r.body)
	}
}

// queryPages runs the query "*" at path a page of pageSize items at a time, following the
// continuation tokens to the end, and returns the pages' items. Every reply must name itemType and
// every page but the last must be full.
func queryPages[T any](env *testEnv, path, itemType string, pageSize int) [][]T {
	env.t.Helper()
	var pages [][]T
	token := ""
	for {
		h := map[string]string{"x-ms-max-item-count": strconv.Itoa(pageSize)}
		if token != "" {
			h["x-ms-continuation"] = token
		}
		r := env.do(http.MethodPost, path, map[string]string{"query": "*"}, h)
		if r.status != http.StatusOK {
			env.t.Fatalf("query: %d %s", r.status, r.body)
		}
		var page []T
		if err := json.Unmarshal(r.body, &page); err != nil {
			env.t.Fatal(err)
		}
		pages = append(pages, page)
		if got := r.header.Get("x-ms-item-type"); got != itemType {
			env.t.Errorf("x-ms-item-type %q, want %q", got, itemType)
		}
		if token = r.header.Get("x-ms-continuation"); token == "" {
			return pages
		}
		if len(page) != pageSize {
			env.t.Fatalf("a page before the last has %d items", len(page))
		}
	}
}

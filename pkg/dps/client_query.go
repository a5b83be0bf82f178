package dps

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strconv"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// DefaultPageSize is the page size QueryEnrollments asks for when given zero.
const DefaultPageSize = 100

// EnrollmentPage is one page of a query.
type EnrollmentPage struct {
	Enrollments []dpsapi.IndividualEnrollment
	// Continuation fetches the next page; empty on the last one.
	Continuation string
}

// QueryEnrollmentsPage fetches one page of enrollments matching query ("*" or "SELECT * FROM
// enrollments"): pass "" as continuation for the first page, then each page's Continuation.
func (c *Client) QueryEnrollmentsPage(ctx context.Context, query string, pageSize int, continuation string) (*EnrollmentPage, error) {
	const op = "query enrollments"
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	body, err := marshal(op, dpsapi.QuerySpecification{Query: query})
	if err != nil {
		return nil, err
	}
	h := map[string]string{dpsapi.HeaderMaxItemCount: strconv.Itoa(pageSize)}
	if continuation != "" {
		h[dpsapi.HeaderContinuation] = continuation
	}
	// A query only reads, so it is safe to resend after a network error.
	res, err := c.do(ctx, call{op: op, method: http.MethodPost, path: "/enrollments/query", body: body, header: h, idempotent: true})
	if err != nil {
		return nil, err
	}
	var page EnrollmentPage
	if err := decodeJSON(op, res.body, &page.Enrollments); err != nil {
		return nil, err
	}
	page.Continuation = res.header.Get(dpsapi.HeaderContinuation)
	return &page, nil
}

// QueryEnrollments returns every enrollment matching query, fetching pages of pageSize as the
// loop consumes them. An error ends the sequence: it is yielded once, with a zero enrollment.
//
//	for e, err := range client.QueryEnrollments(ctx, "*", 50) {
//		if err != nil { return err }
//		…
//	}
func (c *Client) QueryEnrollments(ctx context.Context, query string, pageSize int) iter.Seq2[dpsapi.IndividualEnrollment, error] {
	return func(yield func(dpsapi.IndividualEnrollment, error) bool) {
		cont := ""
		for {
			page, err := c.QueryEnrollmentsPage(ctx, query, pageSize, cont)
			if err != nil {
				yield(dpsapi.IndividualEnrollment{}, err)
				return
			}
			for _, e := range page.Enrollments {
				if !yield(e, nil) {
					return
				}
			}
			if page.Continuation == "" {
				return
			}
			if page.Continuation == cont {
				// Following a service that hands back the token it was given would never end.
				yield(dpsapi.IndividualEnrollment{}, fmt.Errorf("%w: query enrollments: the service returned the same continuation token twice", ErrBadResponse))
				return
			}
			cont = page.Continuation
		}
	}
}

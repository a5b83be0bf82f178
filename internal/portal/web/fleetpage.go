package web

import (
	"context"

	"github.com/oobtpm/oob/internal/factory/records"
)

// fleetPage returns the list's page for lq and how many boards match its search (counted up to
// countUpTo; more when there are more). A first page that holds every match is its own count; a
// page further on (a cursor given) has its count walked on a second connection while the page
// is read, so that the two walks of the index take the time of one.
func (s *Server) fleetPage(ctx context.Context, customer string, lq listQuery) (page *records.FleetPage, count int, more bool, err error) {
	type counted struct {
		n    int
		more bool
		err  error
	}
	var later chan counted
	if !lq.After.IsZero() || !lq.Before.IsZero() {
		later = make(chan counted, 1)
		go func() {
			n, more, err := s.cfg.Store.FleetCount(ctx, customer, lq.Filter, countUpTo)
			later <- counted{n, more, err}
		}()
	}
	page, err = s.cfg.Store.Fleet(ctx, customer, lq.Filter, lq.After, lq.Before, PageSize)
	if later != nil {
		c := <-later
		if err == nil {
			err = c.err
		}
		return page, c.n, c.more, err
	}
	if err != nil {
		return nil, 0, false, err
	}
	if page.Next == nil && page.Prev == nil {
		return page, len(page.Boards), false, nil
	}
	count, more, err = s.cfg.Store.FleetCount(ctx, customer, lq.Filter, countUpTo)
	return page, count, more, err
}

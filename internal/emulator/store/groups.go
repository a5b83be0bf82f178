package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// bucketGroups holds enrollment groups, keyed by enrollment group ID.
var bucketGroups = []byte("enrollmentGroups")

// GetEnrollmentGroup returns the enrollment group id.
func (s *Store) GetEnrollmentGroup(ctx context.Context, id string) (*dpsapi.EnrollmentGroup, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return view(s, func(tx *bolt.Tx) (*dpsapi.EnrollmentGroup, error) { return getGroup(tx, id) })
}

// PutEnrollmentGroup creates or replaces g (already validated). A non-empty ifMatch must match the
// stored ETag ("*" matches any existing group). It returns the group as stored.
func (s *Store) PutEnrollmentGroup(ctx context.Context, g *dpsapi.EnrollmentGroup, ifMatch string) (*dpsapi.EnrollmentGroup, error) {
	var out *dpsapi.EnrollmentGroup
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		rec := *g
		old, err := getGroup(tx, g.EnrollmentGroupID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		var prev *version
		if old != nil {
			prev = &version{etag: old.ETag, created: old.CreatedDateTimeUTC}
			enrollcert.Keep(rec.Attestation, old.Attestation)
		}
		if rec.CreatedDateTimeUTC, err = prev.replace(ifMatch, putCreateOrUpdate, now); err != nil {
			return err
		}
		rec.LastUpdatedDateTimeUTC = timestamp(now)
		rec.ETag = newETag()
		if err := putJSON(tx.Bucket(bucketGroups), rec.EnrollmentGroupID, rec); err != nil {
			return err
		}
		out = &rec
		return nil
	})
	return out, err
}

// DeleteEnrollmentGroup removes the enrollment group id; a non-empty ifMatch must match. The
// registration states of the devices that registered through it stay, as the service keeps them:
// the devices stay in their hubs, and a device registering later finds no enrollment.
func (s *Store) DeleteEnrollmentGroup(ctx context.Context, id, ifMatch string) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		old, err := getGroup(tx, id)
		if err != nil {
			return err
		}
		if !etagMatches(ifMatch, old.ETag) {
			return ErrPreconditionFailed
		}
		return tx.Bucket(bucketGroups).Delete([]byte(id))
	})
}

// QueryEnrollmentGroups returns up to limit enrollment groups in ID order, starting at the group
// ID from (inclusive; empty for the beginning), and the ID the next page starts at (empty when
// there is none).
func (s *Store) QueryEnrollmentGroups(ctx context.Context, from string, limit int) ([]dpsapi.EnrollmentGroup, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var next string
	page, err := view(s, func(tx *bolt.Tx) ([]dpsapi.EnrollmentGroup, error) {
		page, n, err := readPage(tx.Bucket(bucketGroups), from, limit, func(*dpsapi.EnrollmentGroup) error { return nil })
		next = n
		return page, err
	})
	return page, next, err
}

// readPage decodes up to limit records of b (all of them when limit is negative) in key order from
// the key from (inclusive; empty for the first), passing each to fill, and returns them with the
// key the next page starts at.
func readPage[T any](b *bolt.Bucket, from string, limit int, fill func(*T) error) ([]T, string, error) {
	var page []T
	c := b.Cursor()
	k, v := c.First()
	if from != "" {
		k, v = c.Seek([]byte(from))
	}
	for ; k != nil; k, v = c.Next() {
		if len(page) == limit {
			return page, string(k), nil
		}
		var rec T
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, "", fmt.Errorf("emulator: stored record %q: %w", k, err)
		}
		if err := fill(&rec); err != nil {
			return nil, "", err
		}
		page = append(page, rec)
	}
	return page, "", nil
}

// EnrollmentGroups returns every enrollment group, in ID order.
func (s *Store) EnrollmentGroups(ctx context.Context) ([]dpsapi.EnrollmentGroup, error) {
	page, _, err := s.QueryEnrollmentGroups(ctx, "", -1)
	return page, err
}

func getGroup(tx *bolt.Tx, id string) (*dpsapi.EnrollmentGroup, error) {
	return getJSON[dpsapi.EnrollmentGroup](tx.Bucket(bucketGroups), id, "enrollment group")
}

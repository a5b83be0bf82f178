package store

import (
	"context"
	"errors"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// GetEnrollment returns the enrollment for id, with its registration state when one exists.
func (s *Store) GetEnrollment(ctx context.Context, id string) (*dpsapi.IndividualEnrollment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var e *dpsapi.IndividualEnrollment
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEnrollment(tx, id)
		if err != nil {
			return err
		}
		return attachState(tx, e)
	})
	return e, err
}

// putMode says what a write may do to an existing record.
type putMode int

const (
	// putCreateOrUpdate writes whether or not the record exists (PUT, bulk "update").
	putCreateOrUpdate putMode = iota
	// putCreateOnly fails with ErrExists when the record exists (bulk "create").
	putCreateOnly
)

// PutEnrollment creates or replaces e (already validated). A non-empty ifMatch must match the
// stored ETag ("*" matches any existing record). It returns the record as stored.
func (s *Store) PutEnrollment(ctx context.Context, e *dpsapi.IndividualEnrollment, ifMatch string) (*dpsapi.IndividualEnrollment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *dpsapi.IndividualEnrollment
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		out, err = putEnrollment(tx, s.now(), e, ifMatch, putCreateOrUpdate)
		if err != nil {
			return err
		}
		return attachState(tx, out)
	})
	return out, err
}

// DeleteEnrollment removes the enrollment for id and the device's registration state with it,
// as the service does for individual enrollments. A non-empty ifMatch must match.
func (s *Store) DeleteEnrollment(ctx context.Context, id, ifMatch string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return deleteEnrollment(tx, id, ifMatch) })
}

// QueryEnrollments returns up to limit enrollments in registration ID order, starting at the
// registration ID from (inclusive; empty for the beginning), and the ID the next page starts at
// (empty when there is none).
func (s *Store) QueryEnrollments(ctx context.Context, from string, limit int) ([]dpsapi.IndividualEnrollment, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var next string
	page, err := view(s, func(tx *bolt.Tx) ([]dpsapi.IndividualEnrollment, error) {
		page, n, err := readPage(tx.Bucket(bucketEnrollments), from, limit, func(e *dpsapi.IndividualEnrollment) error { return attachState(tx, e) })
		next = n
		return page, err
	})
	return page, next, err
}

func getEnrollment(tx *bolt.Tx, id string) (*dpsapi.IndividualEnrollment, error) {
	return getJSON[dpsapi.IndividualEnrollment](tx.Bucket(bucketEnrollments), id, "enrollment")
}

func putEnrollment(tx *bolt.Tx, now time.Time, e *dpsapi.IndividualEnrollment, ifMatch string, mode putMode) (*dpsapi.IndividualEnrollment, error) {
	rec := *e
	rec.RegistrationState = nil
	old, err := getEnrollment(tx, e.RegistrationID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var prev *version
	if old != nil {
		prev = &version{etag: old.ETag, created: old.CreatedDateTimeUTC}
		enrollcert.Keep(rec.Attestation, old.Attestation)
	}
	if rec.CreatedDateTimeUTC, err = prev.replace(ifMatch, mode, now); err != nil {
		return nil, err
	}
	rec.LastUpdatedDateTimeUTC = timestamp(now)
	rec.ETag = newETag()
	if err := putJSON(tx.Bucket(bucketEnrollments), rec.RegistrationID, rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// version is what a write needs of the stored record it replaces.
type version struct {
	etag    string
	created time.Time
}

// replace checks a write over v (nil when there is no record) against ifMatch and mode, and returns
// the creation time the new record carries: v's, or now for a new record.
func (v *version) replace(ifMatch string, mode putMode, now time.Time) (time.Time, error) {
	switch {
	case v == nil && ifMatch != "":
		// RFC 7232: an If-Match condition on a record that does not exist never holds.
		return time.Time{}, ErrPreconditionFailed
	case v == nil:
		return timestamp(now), nil
	case mode == putCreateOnly:
		return time.Time{}, ErrExists
	case !etagMatches(ifMatch, v.etag):
		return time.Time{}, ErrPreconditionFailed
	}
	return v.created, nil
}

func deleteEnrollment(tx *bolt.Tx, id, ifMatch string) error {
	old, err := getEnrollment(tx, id)
	if err != nil {
		return err
	}
	if !etagMatches(ifMatch, old.ETag) {
		return ErrPreconditionFailed
	}
	if err := tx.Bucket(bucketEnrollments).Delete([]byte(id)); err != nil {
		return err
	}
	return tx.Bucket(bucketRegistrations).Delete([]byte(id))
}

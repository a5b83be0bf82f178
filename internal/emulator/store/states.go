package store

import (
	"context"
	"errors"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// GetRegistrationState returns the registration state for id.
func (s *Store) GetRegistrationState(ctx context.Context, id string) (*dpsapi.DeviceRegistrationState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return view(s, func(tx *bolt.Tx) (*dpsapi.DeviceRegistrationState, error) { return getState(tx, id) })
}

// PutRegistrationState records r for its registration ID, keeping the creation time of an earlier
// state and giving it a fresh ETag and update time. The device registration API writes states
// itself; the admin endpoint and tests seed them through this.
func (s *Store) PutRegistrationState(ctx context.Context, r dpsapi.DeviceRegistrationState) (*dpsapi.DeviceRegistrationState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *dpsapi.DeviceRegistrationState
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		out, err = putState(tx, s.now(), r)
		return err
	})
	return out, err
}

// putState writes r as PutRegistrationState describes.
func putState(tx *bolt.Tx, now time.Time, r dpsapi.DeviceRegistrationState) (*dpsapi.DeviceRegistrationState, error) {
	stamp := timestamp(now)
	if old, err := getState(tx, r.RegistrationID); err == nil {
		r.CreatedDateTimeUTC = old.CreatedDateTimeUTC
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	} else {
		r.CreatedDateTimeUTC = stamp
	}
	r.LastUpdatedDateTimeUTC = stamp
	r.ETag = newETag()
	if err := putJSON(tx.Bucket(bucketRegistrations), r.RegistrationID, r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteRegistrationState removes the registration state for id; a non-empty ifMatch must match.
func (s *Store) DeleteRegistrationState(ctx context.Context, id, ifMatch string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		r, err := getState(tx, id)
		if err != nil {
			return err
		}
		if !etagMatches(ifMatch, r.ETag) {
			return ErrPreconditionFailed
		}
		return tx.Bucket(bucketRegistrations).Delete([]byte(id))
	})
}

func getState(tx *bolt.Tx, id string) (*dpsapi.DeviceRegistrationState, error) {
	return getJSON[dpsapi.DeviceRegistrationState](tx.Bucket(bucketRegistrations), id, "registration state")
}

// attachState sets e's read-only registrationState from the registrations bucket.
func attachState(tx *bolt.Tx, e *dpsapi.IndividualEnrollment) error {
	r, err := getState(tx, e.RegistrationID)
	if errors.Is(err, ErrNotFound) {
		e.RegistrationState = nil
		return nil
	}
	if err != nil {
		return err
	}
	e.RegistrationState = r
	return nil
}

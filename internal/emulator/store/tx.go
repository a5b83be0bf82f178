package store

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Tx is one write transaction: the changes made through it land together when the function
// Update runs it in returns nil, and none of them otherwise.
type Tx struct {
	tx  *bolt.Tx
	now time.Time
}

// Update runs fn in one write transaction: a bulk operation's batch, or a registration decided
// once however many polls ask at the same moment.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return s.update(ctx, func(tx *bolt.Tx, now time.Time) error { return fn(&Tx{tx: tx, now: now}) })
}

// update runs fn in one write transaction, with the store's time.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(tx, s.now()) })
}

// Enrollment returns the enrollment for id, without its registration state.
func (t *Tx) Enrollment(id string) (*dpsapi.IndividualEnrollment, error) {
	return getEnrollment(t.tx, id)
}

// CreateEnrollment creates e (already validated); ErrExists when there is one already.
func (t *Tx) CreateEnrollment(e *dpsapi.IndividualEnrollment) (*dpsapi.IndividualEnrollment, error) {
	return putEnrollment(t.tx, t.now, e, "", putCreateOnly)
}

// PutEnrollment creates or replaces e as Store.PutEnrollment does, without its registration
// state.
func (t *Tx) PutEnrollment(e *dpsapi.IndividualEnrollment, ifMatch string) (*dpsapi.IndividualEnrollment, error) {
	return putEnrollment(t.tx, t.now, e, ifMatch, putCreateOrUpdate)
}

// DeleteEnrollment removes the enrollment for id as Store.DeleteEnrollment does.
func (t *Tx) DeleteEnrollment(id, ifMatch string) error {
	return deleteEnrollment(t.tx, id, ifMatch)
}

// EnrollmentGroup returns the enrollment group id.
func (t *Tx) EnrollmentGroup(id string) (*dpsapi.EnrollmentGroup, error) {
	return getGroup(t.tx, id)
}

// PutRegistrationState records r as Store.PutRegistrationState does, stamped at the time at
// (the clock of the decision that wrote it).
func (t *Tx) PutRegistrationState(at time.Time, r dpsapi.DeviceRegistrationState) (*dpsapi.DeviceRegistrationState, error) {
	return putState(t.tx, at, r)
}

// Assignment returns the device's current hub assignment; nil until it is first assigned.
func (t *Tx) Assignment(registrationID string) (*Assignment, error) {
	d, err := getDevice(t.tx, registrationID)
	if err != nil {
		return nil, err
	}
	return d.Hub, nil
}

// Assign records the device's new hub identity, removing the one it had elsewhere.
func (t *Tx) Assign(registrationID string, hub *Assignment) error {
	return assignDevice(t.tx, registrationID, hub)
}

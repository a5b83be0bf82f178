package emulator

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// Conditions a store operation reports and the handlers turn into status codes.
var (
	// ErrNotFound is a record that does not exist.
	ErrNotFound = errors.New("emulator: record not found")
	// ErrPreconditionFailed is an ETag condition that does not hold.
	ErrPreconditionFailed = errors.New("emulator: etag does not match")
	// ErrExists is a create of a record that already exists.
	ErrExists = errors.New("emulator: record already exists")
)

var (
	bucketEnrollments   = []byte("enrollments")
	bucketRegistrations = []byte("registrations")
	bucketMeta          = []byte("meta")
	// bucketOperations holds device registration operations, keyed by registration ID, NUL and
	// operation ID.
	bucketOperations = []byte("operations")
	// bucketDevices holds what the device registration API knows of each device: its TPM
	// challenge key and its hub assignment, keyed by registration ID.
	bucketDevices = []byte("devices")
	// bucketHubDevices maps lower-case hub host name, NUL and device ID to the registration ID
	// assigned there.
	bucketHubDevices = []byte("hubDevices")
)

// Store is the emulator's durable state: enrollments, registration states, device registration
// operations, devices' assignments and the service's own identity, in one bbolt file. Every change is one bbolt transaction, fsynced before it returns,
// so a crash at any moment leaves either the old or the new state. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

// OpenStore opens (creating when absent) the store file at path. It waits at most a few seconds
// for another process holding the file to let go, then fails rather than hang.
func OpenStore(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("emulator: open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEnrollments, bucketRegistrations, bucketMeta, bucketOperations, bucketDevices, bucketHubDevices, bucketGroups, bucketGroupMembers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("emulator: prepare store %s: %w", path, err)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Close releases the store file.
func (s *Store) Close() error { return s.db.Close() }

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

// GetRegistrationState returns the registration state for id.
func (s *Store) GetRegistrationState(ctx context.Context, id string) (*dpsapi.DeviceRegistrationState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return view(s, func(tx *bolt.Tx) (*dpsapi.DeviceRegistrationState, error) { return getState(tx, id) })
}

// view returns what fn reads in one read transaction.
func view[T any](s *Store, fn func(tx *bolt.Tx) (T, error)) (T, error) {
	var out T
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
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

// update runs fn in one write transaction; bulk operations use it so a batch lands at once.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(tx, s.now()) })
}

func getEnrollment(tx *bolt.Tx, id string) (*dpsapi.IndividualEnrollment, error) {
	return getJSON[dpsapi.IndividualEnrollment](tx.Bucket(bucketEnrollments), id, "enrollment")
}

// getJSON decodes the record key of b (a what, for errors), or returns ErrNotFound.
func getJSON[T any](b *bolt.Bucket, key, what string) (*T, error) {
	v := b.Get([]byte(key))
	if v == nil {
		return nil, ErrNotFound
	}
	var rec T
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("emulator: stored %s %q: %w", what, key, err)
	}
	return &rec, nil
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
		keepCertificates(&rec, old)
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

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// newETag returns a fresh entity tag in the form the service uses in bodies: base64 of a quoted,
// GUID-shaped version stamp (the shape of the storage layer's own ETags).
func newETag() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	stamp := `"` + s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32] + `"`
	return base64.StdEncoding.EncodeToString([]byte(stamp))
}

// etagMatches reports whether an If-Match value holds for a record whose ETag is current. An empty
// condition always holds and "*" holds for any existing record. Clients differ in whether they
// quote the body's etag in the header (the C# client does, the Node client does not), so one pair
// of quotes and a weak prefix are ignored on both sides.
func etagMatches(cond, current string) bool {
	if cond == "" || cond == "*" {
		return true
	}
	return unquoteETag(cond) == unquoteETag(current)
}

func unquoteETag(s string) string {
	if len(s) > 2 && (s[:2] == "W/" || s[:2] == "w/") {
		s = s[2:]
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}

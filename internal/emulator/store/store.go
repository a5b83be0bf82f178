// Package store is the DPS emulator's durable state in one bbolt file: enrollments, enrollment
// groups, registration states, device registration operations, devices' hub assignments and the
// service's own identity.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Conditions a store operation reports, which callers branch on.
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
// operations, devices' assignments and the service's own identity, in one bbolt file. Every
// change is one bbolt transaction, fsynced before it returns, so a crash at any moment leaves
// either the old or the new state. It is safe for concurrent use.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

// Options configure Open; the zero value is the default.
type Options struct {
	// Now is the clock records are stamped by (creation and update times); nil uses time.Now.
	Now func() time.Time
}

// Open opens (creating when absent) the store file at path. It waits at most a few seconds for
// another process holding the file to let go, then fails rather than hang.
func Open(path string, opts Options) (*Store, error) {
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: db, now: opts.Now}, nil
}

// Close releases the store file.
func (s *Store) Close() error { return s.db.Close() }

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

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

// timestamp is t as the service records it in enrollments and registration states: UTC, to the
// 100 ns tick of .NET's clock. (The dps types marshal it without trailing zeros in the fraction;
// clients parse either form.)
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(100 * time.Nanosecond) }

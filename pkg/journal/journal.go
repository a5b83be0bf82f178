// Package journal is the companion's durable production record: every device scanned and every
// enrollment attempt, on disk before it is reported as done, and the enrollments still to send.
//
// The journal is a bbolt file: each record is one transaction, and a transaction is fsynced
// before the call returns, so a record that was returned survives kill -9 and a power cut, and
// one that was being written is either whole or absent. bbolt was chosen over an append-only
// JSON-lines file because it is already the emulator's store, it gives that all-or-nothing
// write without a repair step for a torn last line, and its file lock keeps a second companion
// from interleaving records with a running scan (the second one is told the journal is busy).
// Records are JSON in one bucket, keyed by their sequence number, so the order is the order in
// which they were written.
package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the journal's name in the companion's state folder.
const FileName = "journal.db"

// version is the layout written in the meta bucket; a journal of another version is refused.
const version = "1"

var (
	bucketEntries = []byte("entries")
	bucketMeta    = []byte("meta")
	keyVersion    = []byte("version")
)

// ErrBusy means another process has the journal open: a running scan, or another sync.
var ErrBusy = errors.New("journal: in use by another companion (a running scan sends its own queue); try again when it has finished")

// Journal is an open journal. It is safe for concurrent use.
type Journal struct {
	db   *bolt.DB
	path string
	now  func() time.Time
}

// DefaultPath is where the companion keeps its journal: $XDG_STATE_HOME/oob/journal.db, or
// ~/.local/state/oob/journal.db when XDG_STATE_HOME is not set.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, "oob", FileName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("journal: no home folder for the default journal (%w): give a journal file", err)
	}
	return filepath.Join(home, ".local", "state", "oob", FileName), nil
}

// Open opens the journal at path, creating it (and its folder, private to the user) when it
// does not exist. It fails with ErrBusy when another process has it open.
func Open(path string) (*Journal, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrBusy, path)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	j := &Journal{db: db, path: path, now: time.Now}
	if err := j.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if created {
		// The new file's name must survive a power cut too, not only its contents.
		if err := syncDir(dir); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return j, nil
}

// init creates the buckets of a new journal and checks the version of an existing one.
func (j *Journal) init() error {
	return j.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		switch v := meta.Get(keyVersion); {
		case v == nil:
			if err := meta.Put(keyVersion, []byte(version)); err != nil {
				return fmt.Errorf("journal: %w", err)
			}
		case string(v) != version:
			return fmt.Errorf("journal: %s is version %q, this companion reads version %s: use the companion that wrote it", j.path, v, version)
		}
		if _, err := tx.CreateBucketIfNotExists(bucketEntries); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		return nil
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	// Some systems (Windows) cannot sync a folder; the file itself is synced either way.
	_ = d.Sync()
	return nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close closes the journal. Every record already returned is on disk.
func (j *Journal) Close() error { return j.db.Close() }

// append writes e as the next record, durably, and returns it with its sequence number and,
// unless it had one, its time.
func (j *Journal) append(e Entry) (Entry, error) {
	out, err := j.appendAll([]Entry{e})
	if err != nil {
		return Entry{}, err
	}
	return out[0], nil
}

// appendAll writes entries as the next records in one durable transaction: all or none.
func (j *Journal) appendAll(entries []Entry) ([]Entry, error) {
	now := j.now()
	out := make([]Entry, len(entries))
	for i, e := range entries {
		if e.Time.IsZero() {
			e.Time = now
		}
		e.Time = e.Time.UTC()
		out[i] = e
	}
	var failed *Entry
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		for i := range out {
			failed = &out[i]
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			out[i].Seq = seq
			v, err := json.Marshal(out[i])
			if err != nil {
				return err
			}
			if err := b.Put(seqKey(seq), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: write %s record of %s: %w", failed.Kind, failed.Device.RegistrationID, err)
	}
	return out, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// each calls fn with every record, oldest first.
func (j *Journal) each(fn func(Entry) error) error {
	return j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("journal: record %d is unreadable: %w", binary.BigEndian.Uint64(k), err)
			}
			return fn(e)
		})
	})
}

// Entries returns every record, oldest first.
func (j *Journal) Entries() ([]Entry, error) {
	var out []Entry
	err := j.each(func(e Entry) error { out = append(out, e); return nil })
	return out, err
}

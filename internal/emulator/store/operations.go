package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// MaxOperationsPerDevice is how many of a device's registration operations the store keeps; older
// ones are forgotten when a new one starts, as the service forgets them after a while.
const MaxOperationsPerDevice = 4

// Operation is one device registration operation as the store keeps it: who registered, how they
// proved it (so that their polls can be checked the same way even after the enrollment is gone),
// and what was decided.
type Operation struct {
	ID             string                 `json:"id"`
	RegistrationID string                 `json:"registrationId"`
	Attestation    dpsapi.AttestationType `json:"attestation"`
	// AuthKey is the key the device's tokens are signed with: the enrollment's symmetric key that
	// verified the register request, or the key of the TPM challenge it answered.
	AuthKey []byte `json:"authKey,omitempty"`
	// Thumbprint is the SHA-256 thumbprint of the certificate an X.509 device presented.
	Thumbprint string `json:"thumbprint,omitempty"`
	// GroupID is the enrollment group that admitted a device without an individual enrollment, and
	// Signer the thumbprint of the group's signing certificate its certificate chained to.
	GroupID string `json:"groupId,omitempty"`
	Signer  string `json:"signer,omitempty"`
	// EK and SRK are a TPM device's keys (TPM2B_PUBLIC), which its hub key is sealed to.
	EK  []byte `json:"ek,omitempty"`
	SRK []byte `json:"srk,omitempty"`
	// Created is when the device registered; ReadyAt when the assignment may be decided (at the
	// first poll from then on).
	Created time.Time `json:"created"`
	ReadyAt time.Time `json:"readyAt"`
	// Status is the operation's status: assigning until decided, then assigned, disabled or failed.
	Status dpsapi.RegistrationStatus `json:"status"`
	// Result is the registration state sent with the decision.
	Result *dpsapi.DeviceRegistrationResult `json:"result,omitempty"`
}

// operationKey is an operation's key in bucketOperations: all of a device's operations sit
// together, so they can be listed and pruned by prefix.
func operationKey(registrationID, operationID string) []byte {
	return []byte(registrationID + "\x00" + operationID)
}

// StartOperation records a new operation for a device that has just registered, forgets the
// device's oldest operations beyond MaxOperationsPerDevice, and sets its registration state to
// assigning (as of op.Created).
func (s *Store) StartOperation(ctx context.Context, op *Operation) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		b := tx.Bucket(bucketOperations)
		if err := putJSON(b, string(operationKey(op.RegistrationID, op.ID)), op); err != nil {
			return err
		}
		if err := pruneOperations(b, op.RegistrationID); err != nil {
			return err
		}
		if err := noteGroupMember(tx, op); err != nil {
			return err
		}
		_, err := putState(tx, op.Created, dpsapi.DeviceRegistrationState{
			RegistrationID: op.RegistrationID,
			Status:         dpsapi.RegistrationAssigning,
		})
		return err
	})
}

// pruneOperations deletes a device's oldest operations beyond MaxOperationsPerDevice.
func pruneOperations(b *bolt.Bucket, registrationID string) error {
	prefix := []byte(registrationID + "\x00")
	type entry struct {
		key     []byte
		created time.Time
	}
	var ops []entry
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var op Operation
		if err := json.Unmarshal(v, &op); err != nil {
			return fmt.Errorf("emulator: stored operation %q: %w", k, err)
		}
		ops = append(ops, entry{key: slices.Clone(k), created: op.Created})
	}
	if len(ops) <= MaxOperationsPerDevice {
		return nil
	}
	slices.SortFunc(ops, func(a, b entry) int { return a.created.Compare(b.created) })
	for _, e := range ops[:len(ops)-MaxOperationsPerDevice] {
		if err := b.Delete(e.key); err != nil {
			return err
		}
	}
	return nil
}

// Operation returns a device's operation, or ErrNotFound.
func (s *Store) Operation(ctx context.Context, registrationID, operationID string) (*Operation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var op *Operation
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		op, err = getOperation(tx, registrationID, operationID)
		return err
	})
	return op, err
}

func getOperation(tx *bolt.Tx, registrationID, operationID string) (*Operation, error) {
	v := tx.Bucket(bucketOperations).Get(operationKey(registrationID, operationID))
	if v == nil {
		return nil, ErrNotFound
	}
	var op Operation
	if err := json.Unmarshal(v, &op); err != nil {
		return nil, fmt.Errorf("emulator: stored operation %q: %w", operationID, err)
	}
	return &op, nil
}

// AdvanceOperation returns the operation, first deciding it with decide (in the same transaction,
// so that concurrent polls decide it once) when it is still assigning and its time has come: now
// is the caller's clock, which the operation's times were set with.
func (s *Store) AdvanceOperation(ctx context.Context, registrationID, operationID string, now time.Time, decide func(tx *Tx, now time.Time, op *Operation) error) (*Operation, error) {
	var op *Operation
	err := s.update(ctx, func(tx *bolt.Tx, storeNow time.Time) error {
		var err error
		if op, err = getOperation(tx, registrationID, operationID); err != nil {
			return err
		}
		if op.Status != dpsapi.RegistrationAssigning || now.Before(op.ReadyAt) {
			return nil
		}
		if err := decide(&Tx{tx: tx, now: storeNow}, now, op); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketOperations), string(operationKey(registrationID, operationID)), op)
	})
	return op, err
}

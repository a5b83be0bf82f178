package emulator

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

// maxOperationsPerDevice is how many of a device's registration operations the store keeps; older
// ones are forgotten when a new one starts, as the service forgets them after a while.
const maxOperationsPerDevice = 4

// operation is one device registration operation as the store keeps it: who registered, how they
// proved it (so that their polls can be checked the same way even after the enrollment is gone),
// and what was decided.
type operation struct {
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

// startOperation records a new operation for a device that has just registered, forgets the
// device's oldest operations beyond maxOperationsPerDevice, and sets its registration state to
// assigning (as of op.Created).
func (s *Store) startOperation(ctx context.Context, op *operation) error {
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

// pruneOperations deletes a device's oldest operations beyond maxOperationsPerDevice.
func pruneOperations(b *bolt.Bucket, registrationID string) error {
	prefix := []byte(registrationID + "\x00")
	type entry struct {
		key     []byte
		created time.Time
	}
	var ops []entry
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var op operation
		if err := json.Unmarshal(v, &op); err != nil {
			return fmt.Errorf("emulator: stored operation %q: %w", k, err)
		}
		ops = append(ops, entry{key: slices.Clone(k), created: op.Created})
	}
	if len(ops) <= maxOperationsPerDevice {
		return nil
	}
	slices.SortFunc(ops, func(a, b entry) int { return a.created.Compare(b.created) })
	for _, e := range ops[:len(ops)-maxOperationsPerDevice] {
		if err := b.Delete(e.key); err != nil {
			return err
		}
	}
	return nil
}

// getOperation returns a device's operation, or ErrNotFound.
func (s *Store) getOperation(ctx context.Context, registrationID, operationID string) (*operation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var op *operation
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		op, err = getOperation(tx, registrationID, operationID)
		return err
	})
	return op, err
}

func getOperation(tx *bolt.Tx, registrationID, operationID string) (*operation, error) {
	v := tx.Bucket(bucketOperations).Get(operationKey(registrationID, operationID))
	if v == nil {
		return nil, ErrNotFound
	}
	var op operation
	if err := json.Unmarshal(v, &op); err != nil {
		return nil, fmt.Errorf("emulator: stored operation %q: %w", operationID, err)
	}
	return &op, nil
}

// advanceOperation returns the operation, first deciding it with decide (in the same transaction,
// so that concurrent polls decide it once) when it is still assigning and its time has come: now
// is the caller's clock, which the operation's times were set with.
func (s *Store) advanceOperation(ctx context.Context, registrationID, operationID string, now time.Time, decide func(tx *bolt.Tx, now time.Time, op *operation) error) (*operation, error) {
	var op *operation
	err := s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		var err error
		if op, err = getOperation(tx, registrationID, operationID); err != nil {
			return err
		}
		if op.Status != dpsapi.RegistrationAssigning || now.Before(op.ReadyAt) {
			return nil
		}
		if err := decide(tx, now, op); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketOperations), string(operationKey(registrationID, operationID)), op)
	})
	return op, err
}

// deviceRecord is what the device registration API remembers of a device between requests.
type deviceRecord struct {
	RegistrationID string `json:"registrationId"`
	// ChallengeKey is the HMAC key of the TPM challenge last sent to the device, and ChallengeEK
	// the endorsement key it was sealed to: a token signed with it authenticates that TPM.
	ChallengeKey []byte `json:"challengeKey,omitempty"`
	ChallengeEK  []byte `json:"challengeEk,omitempty"`
	// Hub is the device's current assignment; nil until it is first assigned.
	Hub *hubRecord `json:"hub,omitempty"`
	// Group is the enrollment group the device's last registration came through; empty for its
	// individual enrollment.
	Group string `json:"group,omitempty"`
}

// hubRecord is a device's identity in the hub it is assigned to.
type hubRecord struct {
	HostName    string                 `json:"hostName"`
	DeviceID    string                 `json:"deviceId"`
	Attestation dpsapi.AttestationType `json:"attestation"`
	// Keys sign the device's hub tokens: a symmetric-key device's primary and secondary enrollment
	// keys, or the key delivered to a TPM device with its assignment.
	Keys [][]byte `json:"keys,omitempty"`
	// Thumbprints are the SHA-256 thumbprints of an X.509 device's enrolled certificates.
	Thumbprints []string            `json:"thumbprints,omitempty"`
	InitialTwin *dpsapi.InitialTwin `json:"initialTwin,omitempty"`
	IoTEdge     bool                `json:"iotEdge,omitempty"`
}

func getDevice(tx *bolt.Tx, registrationID string) (*deviceRecord, error) {
	v := tx.Bucket(bucketDevices).Get([]byte(registrationID))
	if v == nil {
		return &deviceRecord{RegistrationID: registrationID}, nil
	}
	var d deviceRecord
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("emulator: stored device %q: %w", registrationID, err)
	}
	return &d, nil
}

// hubDeviceKey names a device across hubs: host names are case-insensitive, device IDs are not.
func hubDeviceKey(hubHost, deviceID string) []byte {
	return []byte(lowerASCII(hubHost) + "\x00" + deviceID)
}

// setChallenge keeps the key of the TPM challenge just sent to a device, replacing the previous one.
func (s *Store) setChallenge(ctx context.Context, registrationID string, ek, key []byte) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		d, err := getDevice(tx, registrationID)
		if err != nil {
			return err
		}
		d.ChallengeKey, d.ChallengeEK = key, ek
		return putJSON(tx.Bucket(bucketDevices), registrationID, d)
	})
}

// challengeKey returns the key of the last TPM challenge sent to the device with endorsement key
// ek, or ErrNotFound when there was none for that key.
func (s *Store) challengeKey(ctx context.Context, registrationID string, ek []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var key []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		d, err := getDevice(tx, registrationID)
		if err != nil {
			return err
		}
		if d.ChallengeKey == nil || !bytes.Equal(d.ChallengeEK, ek) {
			return ErrNotFound
		}
		key = d.ChallengeKey
		return nil
	})
	return key, err
}

// assignDevice records the device's new hub identity, removing the one it had elsewhere.
func assignDevice(tx *bolt.Tx, registrationID string, hub *hubRecord) error {
	d, err := getDevice(tx, registrationID)
	if err != nil {
		return err
	}
	index := tx.Bucket(bucketHubDevices)
	if old := d.Hub; old != nil {
		k := hubDeviceKey(old.HostName, old.DeviceID)
		if string(index.Get(k)) == registrationID {
			if err := index.Delete(k); err != nil {
				return err
			}
		}
	}
	d.Hub = hub
	if err := index.Put(hubDeviceKey(hub.HostName, hub.DeviceID), []byte(registrationID)); err != nil {
		return err
	}
	return putJSON(tx.Bucket(bucketDevices), registrationID, d)
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

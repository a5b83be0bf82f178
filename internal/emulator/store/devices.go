package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// deviceRecord is what the device registration API remembers of a device between requests.
type deviceRecord struct {
	RegistrationID string `json:"registrationId"`
	// ChallengeKey is the HMAC key of the TPM challenge last sent to the device, and ChallengeEK
	// the endorsement key it was sealed to: a token signed with it authenticates that TPM.
	ChallengeKey []byte `json:"challengeKey,omitempty"`
	ChallengeEK  []byte `json:"challengeEk,omitempty"`
	// Hub is the device's current assignment; nil until it is first assigned.
	Hub *Assignment `json:"hub,omitempty"`
	// Group is the enrollment group the device's last registration came through; empty for its
	// individual enrollment.
	Group string `json:"group,omitempty"`
}

// Assignment is a device's identity in the hub it is assigned to.
type Assignment struct {
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

// SetChallenge keeps the key of the TPM challenge just sent to a device, replacing the previous one.
func (s *Store) SetChallenge(ctx context.Context, registrationID string, ek, key []byte) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		d, err := getDevice(tx, registrationID)
		if err != nil {
			return err
		}
		d.ChallengeKey, d.ChallengeEK = key, ek
		return putJSON(tx.Bucket(bucketDevices), registrationID, d)
	})
}

// ChallengeKey returns the key of the last TPM challenge sent to the device with endorsement key
// ek, or ErrNotFound when there was none for that key.
func (s *Store) ChallengeKey(ctx context.Context, registrationID string, ek []byte) ([]byte, error) {
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
func assignDevice(tx *bolt.Tx, registrationID string, hub *Assignment) error {
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

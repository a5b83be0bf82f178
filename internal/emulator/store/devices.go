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
	// Challenges are the TPM challenges recently sent to the device, newest last: the HMAC key
	// of each and the endorsement key it was sealed to. A token signed with one authenticates
	// that TPM while the challenge lives.
	Challenges []challenge `json:"challenges,omitempty"`
	// ChallengeKey and ChallengeEK are the one challenge a store written by an earlier version
	// kept; read as a challenge issued when the store is opened.
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

// A TPM challenge stays valid for ChallengeLifetime after it is sent, and a device keeps at most
// MaxChallenges of them: a register call anyone can make from a device's QR code (its EK and
// registration ID are public) adds a challenge but cannot void the one the device is answering.
const (
	ChallengeLifetime = 30 * time.Minute
	MaxChallenges     = 8
)

type challenge struct {
	Key    []byte    `json:"key"`
	EK     []byte    `json:"ek"`
	Issued time.Time `json:"issued"`
}

// SetChallenge keeps the key of the TPM challenge sent to a device at now, beside the earlier
// ones still alive then (the oldest dropped beyond MaxChallenges). The clock is the device API's,
// which decides what a challenge is worth.
func (s *Store) SetChallenge(ctx context.Context, registrationID string, ek, key []byte, now time.Time) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		d, err := getDevice(tx, registrationID)
		if err != nil {
			return err
		}
		live := d.liveChallenges(now)
		live = append(live, challenge{Key: key, EK: ek, Issued: now})
		if len(live) > MaxChallenges {
			live = live[len(live)-MaxChallenges:]
		}
		d.Challenges, d.ChallengeKey, d.ChallengeEK = live, nil, nil
		return putJSON(tx.Bucket(bucketDevices), registrationID, d)
	})
}

// ChallengeKeys returns the keys of the TPM challenges sent to the device with endorsement key
// ek that are alive at now, newest first, or ErrNotFound when there is none.
func (s *Store) ChallengeKeys(ctx context.Context, registrationID string, ek []byte, now time.Time) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var keys [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		d, err := getDevice(tx, registrationID)
		if err != nil {
			return err
		}
		live := d.liveChallenges(now)
		for i := len(live) - 1; i >= 0; i-- {
			if bytes.Equal(live[i].EK, ek) {
				keys = append(keys, live[i].Key)
			}
		}
		if len(keys) == 0 {
			return ErrNotFound
		}
		return nil
	})
	return keys, err
}

// liveChallenges are d's challenges not yet expired at now, oldest first; an earlier version's
// single challenge counts as issued now.
func (d *deviceRecord) liveChallenges(now time.Time) []challenge {
	var live []challenge
	if d.ChallengeKey != nil {
		live = append(live, challenge{Key: d.ChallengeKey, EK: d.ChallengeEK, Issued: now})
	}
	for _, c := range d.Challenges {
		if now.Sub(c.Issued) < ChallengeLifetime {
			live = append(live, c)
		}
	}
	return live
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

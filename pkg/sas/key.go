package sas

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
)

// Key sizes accepted by ParseKey. DPS and IoT Hub generate 32-byte keys and accept user-supplied
// symmetric keys of 16 to 64 bytes; anything outside that range is a paste error, not a key.
const (
	MinKeyLen = 16
	MaxKeyLen = 64
)

// Signer computes HMAC-SHA256 over data with a key it holds. A Key held in memory is one; a key
// imported into a TPM (which never leaves it) is another.
type Signer interface {
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// Key is a symmetric key held in memory. It implements Signer. Printing it with any fmt verb
// shows a placeholder, never the key, so it cannot leak into logs by accident.
type Key struct {
	b []byte
}

// ParseKey decodes a key in standard, padded base64 (as the Azure portal shows it) and checks its
// length.
func ParseKey(b64 string) (Key, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return Key{}, fmt.Errorf("%w: not standard base64", ErrKey)
	}
	if len(b) < MinKeyLen || len(b) > MaxKeyLen {
		return Key{}, fmt.Errorf("%w: %d bytes; a key is %d to %d bytes (base64 of 24 to 88 characters)", ErrKey, len(b), MinKeyLen, MaxKeyLen)
	}
	return Key{b: b}, nil
}

// NewKey wraps raw key bytes, copying them. It does not check the length: callers that create
// keys (the emulator, tests) choose their own.
func NewKey(b []byte) Key {
	return Key{b: append([]byte(nil), b...)}
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return len(k.b) == 0 }

// Base64 returns the key in standard base64, the form connection strings and enrollments carry.
// It is the only way to see the key; call it only to store or send the key on purpose.
func (k Key) Base64() string { return base64.StdEncoding.EncodeToString(k.b) }

// Equal reports whether two keys are the same, in constant time.
func (k Key) Equal(o Key) bool { return hmac.Equal(k.b, o.b) }

// Sign returns HMAC-SHA256(key, data). It never fails; ctx is accepted to satisfy Signer.
func (k Key) Sign(_ context.Context, data []byte) ([]byte, error) {
	if len(k.b) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrKey)
	}
	m := hmac.New(sha256.New, k.b)
	m.Write(data)
	return m.Sum(nil), nil
}

// DeriveDeviceKey returns the key of one device in a symmetric-key enrollment group:
// HMAC-SHA256(group key, registration ID), as DPS and its SDKs compute it.
func (k Key) DeriveDeviceKey(registrationID string) Key {
	m := hmac.New(sha256.New, k.b)
	io.WriteString(m, registrationID)
	return Key{b: m.Sum(nil)}
}

const redacted = "[redacted]"

// String returns a placeholder: the key is secret.
func (k Key) String() string { return redacted }

// GoString returns a placeholder, for %#v.
func (k Key) GoString() string { return "sas.Key{" + redacted + "}" }

// Format prints a placeholder for every verb, including %x and %d, which would otherwise bypass
// String.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, k.GoString())
		return
	}
	io.WriteString(f, redacted)
}

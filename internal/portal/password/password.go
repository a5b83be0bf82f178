// Package password hashes and checks the portal's passwords with argon2id (RFC 9106).
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The parameters are RFC 9106's second recommended option (64 MiB, 3 passes) with 2 lanes:
// about 100 ms on one core of a small server, which bounds a guessing attacker without
// making sign-in slow. They are stored in each hash, so raising them later keeps old hashes
// working.
const (
	Time    = 3
	Memory  = 64 * 1024 // KiB
	Threads = 2
	KeyLen  = 32
	SaltLen = 16
)

// MinLength is the shortest password accepted.
const MinLength = 12

// ErrMismatch means the password is not the one hashed.
var ErrMismatch = errors.New("password: wrong password")

// ErrTooShort means a new password is shorter than MinLength.
var ErrTooShort = fmt.Errorf("password: use at least %d characters", MinLength)

var b64 = base64.RawStdEncoding

// Hash returns the PHC string $argon2id$v=19$m=…,t=…,p=…$salt$key of pw.
func Hash(pw string) (string, error) {
	if len([]rune(pw)) < MinLength {
		return "", ErrTooShort
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, Time, Memory, Threads, KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, Memory, Time, Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks pw against a hash made by Hash: nil, ErrMismatch, or an error for a malformed
// hash.
func Verify(hash, pw string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return errors.New("password: not an argon2id hash")
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<22 || t == 0 || t > 16 || p == 0 {
		return errors.New("password: bad argon2 parameters")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return errors.New("password: bad salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return errors.New("password: bad key")
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

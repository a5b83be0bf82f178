// Package apitoken makes and reads the portal's API tokens: "oobp_" and 256 random bits
// (base64url), shown once when made and stored only as their SHA-256, with a short random ID
// that names a token in lists and revocations without revealing it.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/factory/records"
)

// Prefix starts every token, so that one pasted where it should not be is recognised (by secret
// scanners, and by the command line's guard against secrets in arguments).
const Prefix = "oobp_"

// secretLen is the base64url length of 32 bytes, unpadded.
const secretLen = 43

// ErrMalformed means a presented token is not of the form New makes.
var ErrMalformed = errors.New("apitoken: not a portal API token: it is oobp_ and 43 letters, digits, - or _")

// New makes a token for customer's system name with role, created by actor at now. The secret is
// returned once; the record holds its hash only.
func New(customer, name, role, actor string, now time.Time) (string, *records.APIToken) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret := Prefix + base64.RawURLEncoding.EncodeToString(b)
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return secret, &records.APIToken{ID: hex.EncodeToString(id), TokenSHA256: Hash(secret), Customer: customer,
		Name: name, Role: role, CreatedBy: actor, CreatedAt: now}
}

// MaxNameLen is the longest name a token may have.
const MaxNameLen = 64

// CheckName says what is wrong with a token's name (which of the organisation's systems holds
// it), or returns nil: one line of at most MaxNameLen characters, not empty.
func CheckName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("give the name of the system that will hold the token, such as erp")
	case len(name) > MaxNameLen || strings.IndexFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("a token's name is at most %d characters on one line", MaxNameLen)
	}
	return nil
}

// Hash is how a token is stored and looked up: hex SHA-256 of the whole token.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// FromHeader returns the token in an Authorization header's value ("Bearer oobp_…"), ErrMalformed
// for a bearer value that is not a token, or an error saying the header is missing or of another
// scheme.
func FromHeader(h string) (string, error) {
	if h == "" {
		return "", errors.New("apitoken: no Authorization header: send Authorization: Bearer oobp_…")
	}
	scheme, v, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("apitoken: the Authorization header is not a Bearer token: send Authorization: Bearer oobp_…")
	}
	v = strings.TrimSpace(v)
	if !Valid(v) {
		return "", ErrMalformed
	}
	return v, nil
}

// Valid reports whether s has a token's form: the prefix and 43 base64url characters that decode
// to 32 bytes.
func Valid(s string) bool {
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(rest) != secretLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	return err == nil && len(b) == 32
}

// Package certify decides and records which boards get a certificate: it checks a board's GUID
// and key, issues its leaf from the board CA, and records the board with its pending enrollment,
// idempotently.
package certify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/oobtpm/oob/internal/factory/boardca"
	"github.com/oobtpm/oob/internal/factory/records"
)

// DefaultValidity is how long a board certificate is valid when Certifier.Validity is zero: a
// board's service life, since DPS cannot renew an individual enrollment's certificate on its own.
const DefaultValidity = 15 * 365 * 24 * time.Hour

// Sentinel errors callers branch on.
var (
	// ErrInvalidGUID means the name is not a GUID DPS accepts as a registration ID.
	ErrInvalidGUID = errors.New("certify: invalid board GUID")
	// ErrWeakKey means a key type or size the factory does not certify.
	ErrWeakKey = errors.New("certify: key not accepted")
	// ErrOtherKey means the GUID is certified with another key and no re-issue was allowed.
	ErrOtherKey = errors.New("certify: this board GUID is already certified with another key")
)

// CheckGUID reports whether s is a board GUID as the factory records it: 8-4-4-4-12 lower-case
// hexadecimal digits.
func CheckGUID(s string) error {
	if len(s) != 36 {
		return fmt.Errorf("%w: %q is not 8-4-4-4-12 hexadecimal digits", ErrInvalidGUID, s)
	}
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return fmt.Errorf("%w: %q is not 8-4-4-4-12 hexadecimal digits", ErrInvalidGUID, s)
			}
		case '0' <= c && c <= '9' || 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			upper = true
		default:
			return fmt.Errorf("%w: %q is not 8-4-4-4-12 hexadecimal digits", ErrInvalidGUID, s)
		}
	}
	if upper {
		return fmt.Errorf("%w: %q has upper-case letters: DPS refuses upper case in a registration ID, so the certificate's CN must be lower case", ErrInvalidGUID, s)
	}
	return nil
}

// CheckKey reports whether pub is a key the factory certifies: ECDSA P-256 or P-384, or RSA of
// at least 2048 bits.
func CheckKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return nil
		}
		return fmt.Errorf("%w: ECDSA on %s: use P-256 or P-384", ErrWeakKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			return nil
		}
		return fmt.Errorf("%w: RSA %d bits: use at least 2048", ErrWeakKey, k.N.BitLen())
	}
	return fmt.Errorf("%w: %T: use ECDSA P-256/P-384 or RSA ≥ 2048", ErrWeakKey, pub)
}

// KeyID is the hex SHA-256 of a public key's DER SubjectPublicKeyInfo, which identifies a board's key.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("certify: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// Store is the part of the records the certifier uses.
type Store interface {
	Board(ctx context.Context, guid string) (*records.Board, error)
	AddBoard(ctx context.Context, b *records.Board) error
	Reissue(ctx context.Context, b *records.Board, actor string, force bool) error
}

// Certifier issues board certificates and records them.
type Certifier struct {
	CA    *boardca.CA
	Store Store
	// Validity of a leaf; zero means DefaultValidity.
	Validity time.Duration
	// Line and Batch are recorded with each board, and tag its enrollment.
	Line, Batch string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Result is a board's certificate and the chain above it.
type Result struct {
	Board *records.Board
	Leaf  *x509.Certificate
	// New is false when the board already had this certificate.
	New bool
}

// Certify returns guid's certificate for pub, issued by station. The same GUID and key give the
// same certificate back; another key for a known GUID fails with ErrOtherKey unless an operator
// allowed a re-issue.
func (c *Certifier) Certify(ctx context.Context, station, guid string, pub crypto.PublicKey) (*Result, error) {
	if err := CheckGUID(guid); err != nil {
		return nil, err
	}
	if err := CheckKey(pub); err != nil {
		return nil, err
	}
	keyID, err := KeyID(pub)
	if err != nil {
		return nil, err
	}
	for range 2 {
		old, err := c.Store.Board(ctx, guid)
		switch {
		case errors.Is(err, records.ErrNotFound):
			res, err := c.issue(station, guid, pub, keyID)
			if err != nil {
				return nil, err
			}
			err = c.Store.AddBoard(ctx, res.Board)
			if errors.Is(err, records.ErrExists) {
				continue // another station raced us: answer as for a known board
			}
			return res, err
		case err != nil:
			return nil, err
		case old.KeySHA256 == keyID:
			leaf, err := boardca.ParseCertificate([]byte(old.Certificate))
			if err != nil {
				return nil, fmt.Errorf("certify: board %s: stored certificate: %w", guid, err)
			}
			return &Result{Board: old, Leaf: leaf}, nil
		case old.Reissue:
			res, err := c.issue(station, guid, pub, keyID)
			if err != nil {
				return nil, err
			}
			if err := c.Store.Reissue(ctx, res.Board, "station "+station, false); err != nil {
				return nil, err
			}
			return res, nil
		default:
			return nil, fmt.Errorf("%w: %s was certified on %s by station %s; if the board really has a new key, "+
				"allow it with `oob-factory board reissue %s`", ErrOtherKey, guid, old.IssuedAt.Format(time.DateOnly), old.Station, guid)
		}
	}
	return nil, fmt.Errorf("certify: board %s: recorded and removed concurrently; ask again", guid)
}

func (c *Certifier) issue(station, guid string, pub crypto.PublicKey, keyID string) (*Result, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	validity := c.Validity
	if validity <= 0 {
		validity = DefaultValidity
	}
	t := now().UTC()
	leaf, err := c.CA.IssueBoard(guid, pub, t, validity)
	if err != nil {
		return nil, err
	}
	b := &records.Board{
		GUID: guid, KeySHA256: keyID, Certificate: string(boardca.PEM(leaf)), Chain: string(boardca.PEM(c.CA.Chain()...)),
		Serial: leaf.SerialNumber.Text(16), Station: station, Line: c.Line, Batch: c.Batch,
		IssuedAt: t, NotAfter: leaf.NotAfter,
	}
	return &Result{Board: b, Leaf: leaf, New: true}, nil
}

package sas

import "errors"

// Conditions callers branch on with errors.Is. Every error this package returns for a token wraps
// exactly one of the first five; connection string errors wrap ErrConnectionString and key errors
// wrap ErrKey. No error message ever contains a key or a signature.
var (
	// ErrMalformed means the token is not a well-formed SharedAccessSignature.
	ErrMalformed = errors.New("sas: malformed token")
	// ErrExpired means the token's expiry (se) has passed, allowing for clock skew.
	ErrExpired = errors.New("sas: token expired")
	// ErrKeyName means the token names a key or access policy (skn) other than the expected one.
	ErrKeyName = errors.New("sas: token names the wrong key or policy (skn)")
	// ErrSignature means the token was not signed with the expected key.
	ErrSignature = errors.New("sas: signature does not match")
	// ErrResource means the token grants access to a resource (sr) other than the one requested.
	ErrResource = errors.New("sas: token is for another resource (sr)")

	// ErrConnectionString means a connection string could not be used.
	ErrConnectionString = errors.New("sas: invalid connection string")
	// ErrKey means a key is not base64 of an acceptable number of bytes.
	ErrKey = errors.New("sas: invalid key")
)

// TokenError is a token that was refused: Kind is one of ErrMalformed, ErrExpired, ErrKeyName,
// ErrSignature or ErrResource, and Reason says which part failed without quoting secrets.
type TokenError struct {
	Kind   error
	Reason string
}

// Error returns the kind followed by the reason.
func (e *TokenError) Error() string {
	if e.Reason == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Reason
}

// Unwrap returns Kind, so errors.Is(err, ErrExpired) and the like work.
func (e *TokenError) Unwrap() error { return e.Kind }

func tokenErr(kind error, reason string) error { return &TokenError{Kind: kind, Reason: reason} }

// ConnectionStringError is a connection string that was refused; Reason says what is wrong and
// where to find a good one. It never contains the key.
type ConnectionStringError struct {
	Reason string
}

// Error returns the reason prefixed with the package's connection string error.
func (e *ConnectionStringError) Error() string {
	return ErrConnectionString.Error() + ": " + e.Reason
}

// Unwrap returns ErrConnectionString.
func (e *ConnectionStringError) Unwrap() error { return ErrConnectionString }

package identity

import "errors"

// Sentinel errors for the conditions callers branch on. Every error about a payload, an EK, a
// registration ID or a label wraps exactly one of them (test with errors.Is); the rest of the
// message says what was found and what to do about it. Caller mistakes are plain errors (an
// unknown Format, asking the legacy format to carry what it cannot), but for ErrNotVerified,
// which the packages that take a Verified identity return.
var (
	// ErrNotIdentity means the text is not a device identity code at all: a URL, a Wi-Fi
	// code, some other product's QR code, arbitrary text. A scanner should skip it quietly.
	ErrNotIdentity = errors.New("identity: not a device identity code")

	// ErrUnsupportedVersion means the code is an identity code in a format version this
	// package does not know: it was made by a newer agent.
	ErrUnsupportedVersion = errors.New("identity: unsupported identity code version")

	// ErrMalformed means the code claims to be an identity code but breaks the format's
	// grammar: truncated, re-typed by hand, or damaged in a way the QR checksum missed.
	ErrMalformed = errors.New("identity: malformed identity code")

	// ErrBadEK means the endorsement key is not the TPM2B_PUBLIC of an RSA-2048 restricted
	// decryption key, or is one exported in the wrong format.
	ErrBadEK = errors.New("identity: invalid endorsement key")

	// ErrTampered means a registration ID that must be derived from the EK is not the one
	// the EK yields: the code was corrupted or tampered with.
	ErrTampered = errors.New("identity: registration ID does not match the endorsement key (corrupted or tampered code)")

	// ErrBadRegistrationID means a registration ID breaks DPS's rules.
	ErrBadRegistrationID = errors.New("identity: invalid registration ID")

	// ErrBadLabel means a device label is too long or holds characters a label cannot.
	ErrBadLabel = errors.New("identity: invalid device label")

	// ErrNotVerified means a Verified zero value was given where an identity checked by Parse
	// or Verify is needed: a mistake in the calling code, not in a device's code.
	ErrNotVerified = errors.New("identity: not a verified identity (it was not made by identity.Parse or identity.Verify)")
)

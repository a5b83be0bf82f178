package tpm

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// Sentinels for the conditions callers branch on. Every error this package returns for one of
// them is an *Error whose Kind is the sentinel, so errors.Is(err, ErrX) works through any
// wrapping, and whose message says what happened and what to do about it.
var (
	// ErrBadSpec means the TPM address is neither a device path nor tcp://HOST:PORT.
	ErrBadSpec = errors.New("tpm: not a TPM address")
	// ErrNoTPM means there is no TPM device at the path: no TPM, or its driver is not loaded.
	ErrNoTPM = errors.New("tpm: no TPM device")
	// ErrPermission means the TPM device exists but this user may not open it.
	ErrPermission = errors.New("tpm: permission denied")
	// ErrUnsupportedOS means TPM devices cannot be opened on this operating system.
	ErrUnsupportedOS = errors.New("tpm: TPM devices need Linux")
	// ErrNotAnswering means nothing answers at a tcp:// address, or it stopped answering.
	ErrNotAnswering = errors.New("tpm: software TPM not answering")
	// ErrTPM12 means the TPM is a TPM 1.2, which DPS TPM attestation cannot use.
	ErrTPM12 = errors.New("tpm: TPM 1.2, not 2.0")
	// ErrEKNotRSA2048 means the key persisted at the EK handle is not an RSA-2048 endorsement key
	// (typically an ECC EK).
	ErrEKNotRSA2048 = errors.New("tpm: endorsement key is not RSA-2048")
	// ErrSRKUnusable means the key persisted at the SRK handle is not an RSA-2048 storage key.
	ErrSRKUnusable = errors.New("tpm: storage root key is not RSA-2048")
	// ErrRSA2048Unsupported means the TPM cannot create RSA-2048 keys.
	ErrRSA2048Unsupported = errors.New("tpm: RSA-2048 not supported")
	// ErrHierarchyAuth means a hierarchy has a password that was not supplied, or was wrong.
	ErrHierarchyAuth = errors.New("tpm: hierarchy password needed")
	// ErrHierarchyDisabled means a hierarchy the operation needs is disabled.
	ErrHierarchyDisabled = errors.New("tpm: hierarchy disabled")
	// ErrLockout means the TPM refuses authorizations because of dictionary-attack lockout.
	ErrLockout = errors.New("tpm: dictionary-attack lockout")
	// ErrMalformedResponse means the TPM's response could not be parsed.
	ErrMalformedResponse = errors.New("tpm: malformed TPM response")
	// ErrEKCertificate means the EK certificate NV index holds something that is not a certificate.
	ErrEKCertificate = errors.New("tpm: unreadable EK certificate")
	// ErrBadBlob means a DPS authenticationKey blob does not have the layout DPS sends.
	ErrBadBlob = errors.New("tpm: malformed DPS authenticationKey")
	// ErrBlobNotForThisTPM means the TPM refused a well-formed DPS authenticationKey: it was made
	// for another TPM's endorsement key or storage root key, or damaged on the way.
	ErrBlobNotForThisTPM = errors.New("tpm: DPS authenticationKey not for this TPM")
	// ErrNoDPSKey means no DPS key has been imported yet: the device has not registered.
	ErrNoDPSKey = errors.New("tpm: no DPS key imported")
	// ErrDPSHandleTaken means something other than an HMAC key is persisted at DPSKeyHandle.
	ErrDPSHandleTaken = errors.New("tpm: DPS key handle holds another object")
	// ErrDeviceKeyHandleTaken means something other than the device's ECDSA P-256 signing key is
	// persisted at DeviceKeyHandle.
	ErrDeviceKeyHandleTaken = errors.New("tpm: device key handle holds another object")
	// ErrP256Unsupported means the TPM cannot create ECDSA NIST P-256 keys.
	ErrP256Unsupported = errors.New("tpm: ECDSA P-256 not supported")
)

// Hierarchy names used in Error.Hierarchy and in messages.
const (
	HierarchyEndorsement = "endorsement"
	HierarchyOwner       = "owner"
)

// Error is the error type of this package.
type Error struct {
	// Kind is one of the Err* sentinels.
	Kind error
	// Hierarchy is HierarchyEndorsement or HierarchyOwner when the error concerns one.
	Hierarchy string
	// Msg says what happened and what to do, without the "tpm: " prefix.
	Msg string
	// Err is the underlying cause (a tpm2.TPMRC, an *os.PathError, …), or nil.
	Err error
}

// Error returns the message, with the cause in parentheses when there is one.
func (e *Error) Error() string {
	if e.Err == nil {
		return "tpm: " + e.Msg
	}
	return fmt.Sprintf("tpm: %s (%v)", e.Msg, e.Err)
}

// Unwrap exposes both the sentinel and the cause, so errors.Is matches either: a caller can test
// for ErrHierarchyAuth, and a test for tpm2.TPMRCBadAuth.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// newError builds an *Error; msg is a format string.
func newError(kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// malformed reports a response that could not be parsed.
func malformed(cause error, format string, args ...any) *Error {
	return newError(ErrMalformedResponse, cause,
		"malformed response from the TPM: "+format, args...)
}

// Where the commands that use this package read hierarchy passwords from; messages name them so
// the user knows exactly what to set.
var authSources = map[string]string{
	HierarchyEndorsement: "OOB_ENDORSEMENT_AUTH or --endorsement-auth-file",
	HierarchyOwner:       "OOB_OWNER_AUTH or --owner-auth-file",
}

// tpm12Error explains a TPM 1.2 found at name.
func tpm12Error(name string, cause error) *Error {
	return newError(ErrTPM12, cause,
		"%s is a TPM 1.2; DPS TPM attestation needs a TPM 2.0: switch the TPM to 2.0 mode in the "+
			"firmware setup if it offers that, or use X.509 or symmetric-key attestation", name)
}

// classify turns the error of op, a command that authorizes with hierarchy (or "" for none),
// into one of this package's errors when it is a condition users meet and can fix; anything else
// is returned wrapped with op.
func (t *TPM) classify(op, hierarchy string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	switch {
	case errors.Is(err, tpm2.TPMRCLockout):
		return &Error{Kind: ErrLockout, Err: err, Msg: op + ": the TPM is in dictionary-attack " +
			"lockout after too many wrong passwords: wait for the lockout to expire, or clear it with " +
			"the lockout password (tpm2_dictionarylockout --clear-lockout)"}
	case hierarchy != "" && (errors.Is(err, tpm2.TPMRCBadAuth) || errors.Is(err, tpm2.TPMRCAuthFail)):
		msg := fmt.Sprintf("%s: the %s hierarchy has a password; supply it with %s",
			op, hierarchy, authSources[hierarchy])
		if len(t.auth(hierarchy)) > 0 {
			msg = fmt.Sprintf("%s: the %s hierarchy password given is wrong; check %s",
				op, hierarchy, authSources[hierarchy])
		}
		return &Error{Kind: ErrHierarchyAuth, Hierarchy: hierarchy, Err: err, Msg: msg}
	case errors.Is(err, tpm2.TPMRCHierarchy):
		which := "a TPM hierarchy this needs"
		if hierarchy != "" {
			which = "the " + hierarchy + " hierarchy"
		}
		return &Error{Kind: ErrHierarchyDisabled, Hierarchy: hierarchy, Err: err, Msg: op + ": " +
			which + " is disabled for this boot (the firmware, or software that ran before us, turned " +
			"it off): enable it in the firmware's TPM settings and reboot"}
	}
	return fmt.Errorf("tpm: %s: %w", op, err)
}

// auth returns the password configured for a hierarchy.
func (t *TPM) auth(hierarchy string) []byte {
	if hierarchy == HierarchyEndorsement {
		return t.endorsementAuth
	}
	return t.ownerAuth
}

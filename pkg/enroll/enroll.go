package enroll

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
)

// Outcome is how an enrollment attempt ended: what Enroll did, or, when it returned an error,
// Conflict or Failed (see OutcomeOf). Its values are what the journal and --format json show.
type Outcome string

// Outcomes of an enrollment attempt.
const (
	// Created: there was no enrollment; there is one now.
	Created Outcome = "created"
	// AlreadyEnrolled: an enrollment with the same key exists; nothing was changed.
	AlreadyEnrolled Outcome = "already-enrolled"
	// Replaced: an enrollment with a different key existed and was overwritten, as asked.
	Replaced Outcome = "replaced"
	// Updated: an enrollment with the same key existed and its settings were rewritten, as asked.
	Updated Outcome = "updated"
	// Conflict: the registration ID is enrolled with another key (a *ConflictError); nothing
	// was changed, and trying again would change nothing either.
	Conflict Outcome = "conflict"
	// Failed: the attempt failed otherwise.
	Failed Outcome = "failed"
)

// OutcomeOf is the outcome of Enroll's result and error.
func OutcomeOf(res *Result, err error) Outcome {
	switch {
	case errors.Is(err, ErrConflict):
		return Conflict
	case err != nil || res == nil:
		return Failed
	}
	return res.Outcome
}

// Result is the enrollment as DPS holds it after Enroll, and how it came to be.
type Result struct {
	Outcome    Outcome
	Enrollment *dpsapi.IndividualEnrollment
	// PreviousEndorsementKey is the key a replaced enrollment had (base64 TPM2B_PUBLIC); empty
	// unless Outcome is Replaced.
	PreviousEndorsementKey string
}

// ErrConflict matches a *ConflictError.
var ErrConflict = errors.New("enroll: registration ID already enrolled with a different key")

// ConflictError means the registration ID is enrolled with another endorsement key. Nothing was
// changed.
type ConflictError struct {
	RegistrationID string
	// Enrolled is the key DPS holds and Requested the one asked for (base64 TPM2B_PUBLIC).
	Enrolled, Requested string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("registration ID %q is already enrolled with a different endorsement key "+
		"(enrolled %s, this device %s); nothing was changed. If this device's TPM was replaced or "+
		"cleared, enroll again with --replace; otherwise two devices claim the same registration ID",
		e.RegistrationID, Fingerprint(e.Enrolled), Fingerprint(e.Requested))
}

// Is matches ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Options say how Enroll treats an enrollment that already exists.
type Options struct {
	// Replace overwrites an existing enrollment, whatever its key, with the one asked for.
	Replace bool
}

// Enroll creates the enrollment for id with settings s, unless one exists. An existing
// enrollment with the same endorsement key is left as it is (AlreadyEnrolled). One with a
// different key is a *ConflictError unless opts.Replace is set.
//
// The create is DPS's bulk "create", which fails rather than overwrite, so an enrollment that
// someone else creates between the check and the create is never overwritten either.
func Enroll(ctx context.Context, c *dps.Client, id identity.Verified, s Settings, opts Options) (*Result, error) {
	want, err := Enrollment(id, s)
	if err != nil {
		return nil, err
	}
	// Two rounds: the second covers an enrollment created by someone else between our read and
	// our create.
	for range 2 {
		existing, err := c.GetEnrollment(ctx, want.RegistrationID)
		switch {
		case errors.Is(err, dps.ErrNotFound):
			created, err := create(ctx, c, want)
			if errors.Is(err, dps.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, err
			}
			return &Result{Outcome: Created, Enrollment: created}, nil
		case err != nil:
			return nil, err
		}
		return settle(ctx, c, existing, want, opts)
	}
	return nil, fmt.Errorf("enroll %q: the enrollment keeps appearing and disappearing; someone else is changing it: try again", want.RegistrationID)
}

// settle decides what to do with an existing enrollment.
func settle(ctx context.Context, c *dps.Client, existing, want *dpsapi.IndividualEnrollment, opts Options) (*Result, error) {
	enrolled := endorsementKey(existing)
	sameKey := sameKey(enrolled, want.Attestation.TPM.EndorsementKey)
	if !opts.Replace {
		if sameKey {
			return &Result{Outcome: AlreadyEnrolled, Enrollment: existing}, nil
		}
		return nil, &ConflictError{RegistrationID: want.RegistrationID, Enrolled: enrolled, Requested: want.Attestation.TPM.EndorsementKey}
	}
	// If-Match: overwrite exactly what was checked, not something written since.
	replaced, err := c.CreateOrUpdateEnrollment(ctx, want, existing.ETag)
	if errors.Is(err, dps.ErrPreconditionFailed) {
		return nil, fmt.Errorf("enroll %q: the enrollment changed while it was being replaced; nothing was overwritten: try again", want.RegistrationID)
	}
	if err != nil {
		return nil, err
	}
	if sameKey {
		return &Result{Outcome: Updated, Enrollment: replaced}, nil
	}
	return &Result{Outcome: Replaced, Enrollment: replaced, PreviousEndorsementKey: enrolled}, nil
}

// create creates e only if it does not exist, and returns it as stored. It fails with an error
// matching dps.ErrConflict when it exists. Once DPS has created it, the enrollment exists
// whatever happens next: if reading it back fails, it is returned as it was sent (without
// DPS's ETag and timestamps) rather than an error that would make the caller try again and
// then take its own enrollment for someone else's.
func create(ctx context.Context, c *dps.Client, e *dpsapi.IndividualEnrollment) (*dpsapi.IndividualEnrollment, error) {
	res, err := c.Bulk(ctx, dpsapi.BulkCreate, []dpsapi.IndividualEnrollment{*e})
	if err != nil {
		return nil, err
	}
	for _, item := range res.Errors {
		return nil, item.Cause("create enrollment")
	}
	stored, err := c.GetEnrollment(ctx, e.RegistrationID)
	if err != nil {
		return e, nil
	}
	return stored, nil
}

// endorsementKey returns the TPM endorsement key of e, or "" when e is not TPM-attested.
func endorsementKey(e *dpsapi.IndividualEnrollment) string {
	if e.Attestation == nil || e.Attestation.TPM == nil {
		return ""
	}
	return e.Attestation.TPM.EndorsementKey
}

// sameKey compares two base64 keys by their bytes, since encodings of one key can differ.
func sameKey(a, b string) bool {
	ka, errA := base64.StdEncoding.DecodeString(a)
	kb, errB := base64.StdEncoding.DecodeString(b)
	return errA == nil && errB == nil && len(ka) > 0 && bytes.Equal(ka, kb)
}

// encodeKey is how DPS takes a TPM key: standard base64 of its TPM2B_PUBLIC.
func encodeKey(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Fingerprint is a short, stable name for a base64 TPM2B_PUBLIC key, for people comparing two:
// "EK " and the first 16 characters of the registration ID derived from it.
func Fingerprint(b64 string) string {
	if b64 == "" {
		return "no TPM key (not a TPM enrollment)"
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "an unreadable key"
	}
	return "EK " + identity.DeriveRegistrationID(b)[:16]
}

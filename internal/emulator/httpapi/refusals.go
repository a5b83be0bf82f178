package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/sas"
)

// StoreError maps a store failure to the error the service reports: notFound for a record that
// does not exist, DPS's answers to a failed If-Match and to a create of an existing record, and
// otherwise an internal error, logged to log.
func StoreError(log *slog.Logger, err error, notFound *Error) *Error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound
	case errors.Is(err, store.ErrPreconditionFailed):
		return Errorf(CodePreconditionFailed, "The ETag in the If-Match header does not match the record's current ETag; read the record again and retry.")
	case errors.Is(err, store.ErrExists):
		return Errorf(CodeConflict, "The record already exists.")
	}
	log.Error("store failure", "err", err)
	return Errorf(CodeInternal, "The service could not complete the request; retry later.")
}

// VerifyToken checks the request's Authorization with v and returns nil, the refusal for the kind
// of failure (each of pkg/sas's token error kinds has one), or an internal error, logged to log.
func VerifyToken(log *slog.Logger, r *http.Request, v *sas.Verifier, refusals map[error]*Error) *Error {
	_, err := v.Verify(r.Context(), r.Header.Get("Authorization"))
	if err == nil {
		return nil
	}
	for _, kind := range []error{sas.ErrMalformed, sas.ErrKeyName, sas.ErrResource, sas.ErrSignature, sas.ErrExpired} {
		if errors.Is(err, kind) {
			return refusals[kind]
		}
	}
	log.Error("token verification failed", "err", err)
	return Errorf(CodeInternal, "The service could not check the token; retry later.")
}

package cli

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes shared by the project's programs.
const (
	ExitOK       = 0
	ExitError    = 1 // the operation failed
	ExitUsage    = 2 // bad flags or arguments
	ExitNotFound = 3 // nothing valid was found (e.g. no identity code in the images)
	ExitConflict = 4 // refused to overwrite what exists (e.g. a device enrolled with another key)
	ExitDisabled = 5 // the device's enrollment exists but is disabled
)

// UsageError reports a mistake in the command line.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ErrNothingFound means a command found nothing valid to report; it has already said why.
var ErrNothingFound = errors.New("nothing valid found")

// ErrSilent means the command has already reported its failure; exit non-zero quietly.
var ErrSilent = errors.New("failed")

// ExitCode maps an error returned by a command to the process exit code, and prints it.
// This is the one place where errors become exit codes.
func ExitCode(err error, errOut io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ue *UsageError
	var ce *ConflictError
	var de *DisabledError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(errOut, "error: %v\n(see --help)\n", err)
		return ExitUsage
	case errors.Is(err, ErrNothingFound):
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitNotFound
	case errors.As(err, &ce):
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitConflict
	case errors.As(err, &de):
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitDisabled
	case errors.Is(err, ErrSilent):
		return ExitError
	default:
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
}

// NotFoundError is an error that means "nothing found": it prints as Err and exits with
// ExitNotFound, so scripts can tell a missing record from a failure.
type NotFoundError struct{ Err error }

func (e *NotFoundError) Error() string { return e.Err.Error() }
func (e *NotFoundError) Unwrap() error { return e.Err }

// Is matches ErrNothingFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNothingFound }

// ConflictError marks an error as a refusal to overwrite; it exits with ExitConflict.
type ConflictError struct{ Err error }

func (e *ConflictError) Error() string { return e.Err.Error() }
func (e *ConflictError) Unwrap() error { return e.Err }

// DisabledError marks an error as "the enrollment is disabled"; it exits with ExitDisabled.
type DisabledError struct{ Err error }

func (e *DisabledError) Error() string { return e.Err.Error() }
func (e *DisabledError) Unwrap() error { return e.Err }

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
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(errOut, "error: %v\n(see --help)\n", err)
		return ExitUsage
	case errors.Is(err, ErrNothingFound):
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitNotFound
	case errors.Is(err, ErrSilent):
		return ExitError
	default:
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
}

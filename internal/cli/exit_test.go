package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// A program's exit status is what scripts branch on: every kind of failure a command returns, and
// every kind of command-line mistake, must come out as its documented code with its message.
func TestExitCodes(t *testing.T) {
	newRoot := func(ios *IOStreams, fail error) *cobra.Command {
		root := NewRoot(ios, "prog", "a program", "", "1.0")
		var n int
		one := &cobra.Command{Use: "one ARG", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return fail }}
		one.Flags().IntVar(&n, "count", 1, "a number")
		root.AddCommand(one)
		return root
	}
	tests := []struct {
		name     string
		args     []string
		fail     error
		want     int
		wantText string
	}{
		{"success", []string{"one", "x"}, nil, ExitOK, ""},
		{"a failure", []string{"one", "x"}, errors.New("the disk is full"), ExitError, "error: the disk is full"},
		{"a failure already reported", []string{"one", "x"}, ErrSilent, ExitError, ""},
		{"nothing found", []string{"one", "x"}, &NotFoundError{Err: errors.New("no such enrollment")}, ExitNotFound, "no such enrollment"},
		{"a refusal to overwrite", []string{"one", "x"}, &ConflictError{Err: errors.New("enrolled with another key")}, ExitConflict, "another key"},
		{"disabled", []string{"one", "x"}, &DisabledError{Err: errors.New("enrollment disabled")}, ExitDisabled, "disabled"},
		{"a wrapped usage error", []string{"one", "x"}, fmt.Errorf("checking: %w", Usagef("--count must be positive")), ExitUsage, "(see --help)"},
		{"an unknown flag", []string{"one", "x", "--bogus"}, nil, ExitUsage, "unknown flag: --bogus"},
		{"a flag's bad value", []string{"one", "x", "--count", "many"}, nil, ExitUsage, "invalid argument"},
		{"a missing argument", []string{"one"}, nil, ExitUsage, "accepts 1 arg(s), received 0"},
		{"an extra argument", []string{"one", "x", "y"}, nil, ExitUsage, "received 2"},
		{"an unknown command", []string{"two"}, nil, ExitUsage, `unknown command "two"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			ios := Test(nil, &out, &errOut)
			root := newRoot(ios, tt.fail)
			if got := Run(context.Background(), root, ios, tt.args); got != tt.want {
				t.Errorf("exit status %d, want %d (stderr %q)", got, tt.want, errOut.String())
			}
			if tt.wantText == "" && errOut.Len() != 0 {
				t.Errorf("stderr %q, want nothing", errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.wantText) {
				t.Errorf("stderr %q, want it to say %q", errOut.String(), tt.wantText)
			}
		})
	}
}

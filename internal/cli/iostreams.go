// Package cli holds what the project's command-line programs share: streams, output formats,
// secrets from the environment or files, and the mapping from errors to exit codes.
package cli

import (
	"io"
	"os"
	"strconv"

	"golang.org/x/term"
)

// IOStreams carries a command's input and outputs, and whether each is a terminal.
// Data goes to Out; progress and status go to ErrOut.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	OutTTY bool
	ErrTTY bool

	// TermSize reports the size of the terminal behind Out, in character cells.
	// ok is false when Out is not a terminal and no size is known.
	TermSize func() (cols, rows int, ok bool)
}

// System returns the process's standard streams.
func System() *IOStreams {
	outFD := int(os.Stdout.Fd())
	return &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		OutTTY: term.IsTerminal(outFD),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		TermSize: func() (int, int, bool) {
			if c, r, err := term.GetSize(outFD); err == nil && c > 0 && r > 0 {
				return c, r, true
			}
			// Not a terminal: honour the size a caller exported, as shells do for scripts.
			c, errC := strconv.Atoi(os.Getenv("COLUMNS"))
			r, errR := strconv.Atoi(os.Getenv("LINES"))
			if errC == nil && errR == nil && c > 0 && r > 0 {
				return c, r, true
			}
			return 0, 0, false
		},
	}
}

// Test returns streams backed by the given writers, as no terminal, for tests.
func Test(in io.Reader, out, errOut io.Writer) *IOStreams {
	return &IOStreams{
		In: in, Out: out, ErrOut: errOut,
		TermSize: func() (int, int, bool) { return 0, 0, false },
	}
}

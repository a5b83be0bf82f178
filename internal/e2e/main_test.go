// Package e2e runs the real oob-agent, companion, oob-factory and oob-portal binaries against a software TPM (swtpm)
// and the dps-emulator, and checks their output with independent tools: tpm2-tools, zbarimg
// and ZXingReader.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/factory/pgtest"
)

// bin holds the binaries built for this test run.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "oob-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	code := build()
	if code == 0 {
		code = m.Run()
	}
	pgtest.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build() int {
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	for _, name := range []string{"oob-agent", "companion", "dps-emulator", "oob-factory", "oob-portal"} {
		args := []string{"build", "-o", filepath.Join(bin, name)}
		if name == "oob-agent" {
			args = append(args, "-tags", "nethttpomithttp2") // as the Makefile builds it
		}
		cgo := "CGO_ENABLED=0"
		if name == "companion" {
			// As the Makefile builds it: JPEG images decoded by libjpeg-turbo, through cgo.
			args, cgo = append(args, "-tags", "turbojpeg"), "CGO_ENABLED=1"
		}
		cmd := exec.Command("go", append(args, "./cmd/"+name)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", name, err, out)
			return 1
		}
	}
	return 0
}

// run runs one of the built binaries and returns its stdout, failing the test on a non-zero exit.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := runCode(t, nil, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// runCode runs one of the built binaries and returns its outputs and exit error.
func runCode(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

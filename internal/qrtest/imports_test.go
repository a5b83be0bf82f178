package qrtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// This package is test support: a program that imported it would carry the testing package
// and shell out to decoders on a device.
func TestNoProgramImportsQRTest(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/oobtpm/oob/cmd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/oobtpm/oob/internal/cmd/agent") {
		t.Fatalf("go list did not list the programs' dependencies:\n%s", out)
	}
	for _, dep := range deps {
		if dep == "github.com/oobtpm/oob/internal/qrtest" {
			t.Fatal("a program under cmd/ depends on internal/qrtest")
		}
	}
}

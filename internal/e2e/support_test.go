package e2e

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The test-support packages shell out to decoders, start swtpm and run an emulator: a program
// that imported one would carry the testing package and all that onto a device.
func TestProgramsCarryNoTestSupport(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/oobtpm/oob/cmd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/oobtpm/oob/internal/cmd/agent") {
		t.Fatalf("go list did not list the programs' dependencies:\n%s", out)
	}
	for _, support := range []string{"qrtest", "emulatortest", "swtpmtest", "mssim", "nodetest", "testio", "scantest", "factory/esttest"} {
		if slices.Contains(deps, "github.com/oobtpm/oob/internal/"+support) {
			t.Errorf("a program under cmd/ depends on internal/%s", support)
		}
	}
}

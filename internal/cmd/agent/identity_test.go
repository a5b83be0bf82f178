package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/swtpmtest"
)

// identityOutput runs `oob-agent identity` and returns its exit code, stdout and stderr.
func identityOutput(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ios := cli.Test(strings.NewReader(""), &out, &errOut)
	root := cli.NewRoot(ios, "oob-agent", "", "", "test")
	root.AddCommand(NewCmdIdentity(ios, nil))
	root.SetArgs(append([]string{"identity"}, args...))
	code := cli.ExitCode(root.ExecuteContext(context.Background()), &errOut)
	return code, out.String(), errOut.String()
}

func TestIdentityEKCertificate(t *testing.T) {
	spec, tcti := swtpmtest.Start(t)
	code, text, stderr := identityOutput(t, "--tpm", spec)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"TPM maker:", "IBM (swtpm) (id:00001014)", "TPM model:", "swtpm", "TPM firmware:", "(id:20191023)", "certifies this EK"} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	var got identityJSON
	code, js, stderr := identityOutput(t, "--tpm", spec, "--format", "json")
	if code != 0 || json.Unmarshal([]byte(js), &got) != nil {
		t.Fatalf("exit %d: %s %s", code, js, stderr)
	}
	info := got.EKCertificateInfo
	if info == nil || info.TPM == nil || info.TPM.Model != "swtpm" || info.MatchesEK == nil || !*info.MatchesEK {
		t.Fatalf("ekCertificateInfo %+v in %s", info, js)
	}

	// The EK regenerated: a new endorsement seed (TPM2_ChangeEPS also flushes the persisted EK),
	// so the agent creates another; the certificate in NV is the old EK's.
	for _, args := range [][]string{{"tpm2_changeeps"}} {
		tool := swtpmtest.Tool(t, args[0], "tpm2-tools")
		cmd := exec.Command(tool, args[1:]...)
		cmd.Env = append(os.Environ(), "TPM2TOOLS_TCTI="+tcti)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	code, text, stderr = identityOutput(t, "--tpm", spec)
	if code != 0 || !strings.Contains(text, "DOES NOT MATCH THE EK") || !strings.Contains(stderr, "regenerated") {
		t.Errorf("after regenerating the EK: exit %d\n%s\n%s", code, text, stderr)
	}
	code, js, _ = identityOutput(t, "--tpm", spec, "--format", "json")
	got = identityJSON{}
	if code != 0 || json.Unmarshal([]byte(js), &got) != nil || got.EKCertificateInfo == nil ||
		got.EKCertificateInfo.MatchesEK == nil || *got.EKCertificateInfo.MatchesEK {
		t.Errorf("after regenerating the EK, JSON %s", js)
	}
}

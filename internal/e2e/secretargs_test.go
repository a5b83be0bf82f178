package e2e

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cmd/agent"
	"github.com/oobtpm/oob/internal/cmd/companion"
	factorycmd "github.com/oobtpm/oob/internal/cmd/factory"
)

// commandPaths lists every command of a program's tree, root included, as argv prefixes.
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	out := [][]string{prefix}
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		out = append(out, commandPaths(sub, append(append([]string(nil), prefix...), sub.Name()))...)
	}
	return out
}

// Every command of every program, given a connection string or a bare key where an argument or
// a flag's value goes, refuses it as a usage error without echoing it, and says where secrets go.
func TestSecretsOnTheCommandLineAreNeverEchoed(t *testing.T) {
	const key = "c2VjcmV0LWtleS1mb3ItdGhlLXRlc3Qtb25seS0wMDE=" // 32 bytes, as Azure makes keys
	secrets := []string{
		"HostName=dps.example.net;SharedAccessKeyName=provisioningserviceowner;SharedAccessKey=" + key,
		key,
	}
	ios := cli.Test(nil, &bytes.Buffer{}, &bytes.Buffer{})
	for _, prog := range []struct {
		name string
		root *cobra.Command
	}{
		{"companion", companion.NewRootCmd(ios, "test")},
		{"oob-factory", factorycmd.NewRootCmd(ios, "test")},
		{"oob-agent", agent.NewRootCmd(ios, "test")},
	} {
		for _, path := range commandPaths(prog.root, nil) {
			for _, secret := range secrets {
				for _, args := range [][]string{
					append(append([]string(nil), path...), secret),
					append(append([]string(nil), path...), "--connection-string-file", secret),
					append(append([]string(nil), path...), "--connection-string-file="+secret),
				} {
					cmd := exec.Command(filepath.Join(bin, prog.name), args...)
					var stdout, stderr bytes.Buffer
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					err := cmd.Run()
					code := -1
					if ee, ok := err.(*exec.ExitError); ok {
						code = ee.ExitCode()
					}
					shown := prog.name + " " + strings.Join(path, " ")
					if code != cli.ExitUsage {
						t.Errorf("%s with a secret: exit %d (%v), want %d", shown, code, err, cli.ExitUsage)
					}
					if all := stdout.String() + stderr.String(); strings.Contains(all, key) {
						t.Errorf("%s echoed the key:\n%s", shown, all)
					}
					if !strings.Contains(stderr.String(), "DPS_CONNECTION_STRING") {
						t.Errorf("%s does not say where secrets go:\n%s", shown, stderr.String())
					}
				}
			}
		}
	}
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// maxAgentSize is the agent's budget on a device: linux/arm64, stripped, as the Makefile builds it.
const maxAgentSize = 8 << 20

// agentTags are the Makefile's AGENT_TAGS: the agent is built without net/http's HTTP/2.
const agentTags = "nethttpomithttp2"

// The agent must fit the devices' budget; the dependency test keeps the big packages out, this
// one notices the sum growing.
func TestAgentSize(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the agent")
	}
	out := filepath.Join(t.TempDir(), "oob-agent")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", agentTags, "-ldflags=-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= maxAgentSize {
		t.Errorf("oob-agent for linux/arm64 is %d bytes, over its budget of %d (8 MiB): see docs/architecture.md for what it links and why", fi.Size(), maxAgentSize)
	}
	t.Logf("oob-agent linux/arm64 stripped: %d bytes (%d under budget)", fi.Size(), maxAgentSize-fi.Size())
}

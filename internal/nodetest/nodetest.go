// Package nodetest prepares tests that run Microsoft's Node.js SDK scripts under scripts/: node
// and npm present, each script folder's packages installed from its lockfile. Tests only.
package nodetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Require skips the test when what it needs is missing, unless OOB_E2E=1 asks for it to run,
// in which case the test fails naming what to install.
func Require(t testing.TB, what, install string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("OOB_E2E") == "1" {
		t.Fatalf("%s is missing: install %s", what, install)
	}
	t.Skipf("%s is missing (set OOB_E2E=1 to make this a failure)", what)
}

// Install requires node and npm and installs the packages of the script folder dir exactly as
// its package-lock.json pins them (npm ci --ignore-scripts: the optional ffi-napi native build
// is for Windows only and fails on this Node), unless node_modules already holds every
// dependency of its package.json at the pinned version.
func Install(t testing.TB, dir string) {
	t.Helper()
	_, nodeErr := exec.LookPath("node")
	Require(t, "node", "the Debian package nodejs", nodeErr == nil)
	_, npmErr := exec.LookPath("npm")
	Require(t, "npm", "the Debian package npm", npmErr == nil)
	// Test binaries of several packages install the same folder at once on a fresh clone, and two
	// npm ci in one folder delete each other's files: one installs while the others wait, then
	// find it installed. The check is made under the lock only: an install in progress has
	// written the top-level packages long before their dependencies' files.
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	defer lock(t, fmt.Sprintf("oob-npm-%x.lock", sha256.Sum256([]byte(abs))))()
	if installed(t, dir) {
		return
	}
	cmd := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

// installed reports whether dir/node_modules holds each of dir/package.json's dependencies at
// the version it names.
func installed(t testing.TB, dir string) bool {
	t.Helper()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	for name, version := range pkg.Dependencies {
		var dep struct {
			Version string `json:"version"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil || json.Unmarshal(b, &dep) != nil || dep.Version != version {
			return false
		}
	}
	return true
}

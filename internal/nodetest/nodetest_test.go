package nodetest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInstalled: a pin bumped in package.json, or a dependency added, must trigger npm ci again
// instead of running the SDK left over in node_modules.
func TestInstalled(t *testing.T) {
	const pkg = `{"dependencies": {"a": "1.2.3", "b": "2.0.0"}}`
	for _, tc := range []struct {
		name      string
		installed map[string]string
		want      bool
	}{
		{"all at their pins", map[string]string{"a": "1.2.3", "b": "2.0.0"}, true},
		{"one at another version", map[string]string{"a": "1.2.2", "b": "2.0.0"}, false},
		{"one missing", map[string]string{"a": "1.2.3"}, false},
		{"nothing installed", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "package.json"), pkg)
			for name, version := range tc.installed {
				write(t, filepath.Join(dir, "node_modules", name, "package.json"), `{"name": "`+name+`", "version": "`+version+`"}`)
			}
			if got := installed(t, dir); got != tc.want {
				t.Fatalf("installed = %v, want %v", got, tc.want)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

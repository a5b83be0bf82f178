package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Secret reads a secret from the named environment variable or, when file is set, from that file.
// Secrets never come from argv: command lines are visible to every user of the machine.
// A file must not be readable by group or others, as with ssh keys. A single trailing newline
// is removed. The secret's value never appears in an error.
// It returns nil, nil when neither is set.
func Secret(envName, file string) ([]byte, error) {
	if file != "" {
		return secretFile(file)
	}
	if v, ok := os.LookupEnv(envName); ok {
		return []byte(v), nil
	}
	return nil, nil
}

func secretFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret file %s does not exist: check the path", path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret file %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s is readable by others (mode %04o): run `chmod 600 %s`",
			path, info.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return b, nil
}

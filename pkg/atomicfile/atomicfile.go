// Package atomicfile writes a file whole or not at all, so that a crash or a power cut leaves
// either the old content or the new one, never a mixture.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path's content with data, with mode perm: a temporary file in the same
// directory is written, given perm, fsynced and renamed over path, and the directory is fsynced
// so that the rename itself survives a power cut. A secret is never visible with a wider mode,
// since the temporary file is created 0600 and only then given perm.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("atomicfile: syncing %s: %w", dir, err)
	}
	return nil
}

//go:build !linux

package tpm

// openDevice explains that TPM devices are only supported on Linux: the agent runs on Linux
// devices, and elsewhere a software TPM over tcp:// serves for development.
func openDevice(path string) (conn, error) {
	return nil, newError(ErrUnsupportedOS, nil, "cannot open %s: TPM device access needs Linux; "+
		"use tcp://HOST:PORT for a software TPM", path)
}

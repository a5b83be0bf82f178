package devicecert

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/oobtpm/oob/pkg/keyfile"
	"github.com/oobtpm/oob/pkg/tpm"
)

// Where the key is kept.
const (
	// KeyTPM is the TPM's persistent key at tpm.DeviceKeyHandle.
	KeyTPM = "tpm"
	// KeyFile is a PEM PKCS#8 file, mode 0600.
	KeyFile = "file"
	// KeyAuto is the key file when it exists, else the TPM when there is one, else a new key file.
	KeyAuto = "auto"
)

// Key is the device's key and where it lives.
type Key struct {
	// Signer signs with it; for a TPM key, inside the TPM.
	Signer crypto.Signer
	// Kind is KeyTPM or KeyFile.
	Kind string
	// File is the key file's path, for KeyFile.
	File string
	// Handle is the TPM persistent handle, for KeyTPM.
	Handle uint32
	// Created reports that the key was made now rather than found.
	Created bool

	close func() error
}

// Close releases the TPM behind a TPM key; a file key has nothing to release.
func (k *Key) Close() error {
	if k.close == nil {
		return nil
	}
	return k.close()
}

// OpenKey returns the device's key as kind (KeyTPM, KeyFile or KeyAuto) asks: the TPM's, from
// openTPM (read, or created once and persisted), or the file's at file (read, or a new ECDSA
// P-256 key written there, mode 0600, in a directory made 0700 when missing). With KeyAuto an
// existing key file wins, so that a device that once kept its key in a file keeps it; then the
// TPM, unless openTPM reports tpm.ErrNoTPM (or an OS without TPM devices), when a key file is
// made. Any other TPM failure is returned, not papered over with a file.
func OpenKey(ctx context.Context, kind, file string, openTPM func(context.Context) (*tpm.TPM, error)) (*Key, error) {
	switch kind {
	case KeyFile:
		return fileKey(file)
	case KeyTPM:
		return tpmKey(ctx, openTPM)
	case KeyAuto:
		if _, err := os.Stat(file); err == nil {
			return fileKey(file)
		}
		k, err := tpmKey(ctx, openTPM)
		if errors.Is(err, tpm.ErrNoTPM) || errors.Is(err, tpm.ErrUnsupportedOS) {
			return fileKey(file)
		}
		return k, err
	}
	return nil, fmt.Errorf("devicecert: key %q: use %q, %q or %q", kind, KeyAuto, KeyTPM, KeyFile)
}

func tpmKey(ctx context.Context, openTPM func(context.Context) (*tpm.TPM, error)) (*Key, error) {
	t, err := openTPM(ctx)
	if err != nil {
		return nil, err
	}
	dk, err := t.DeviceKey(ctx)
	if err != nil {
		t.Close()
		return nil, err
	}
	return &Key{Signer: dk, Kind: KeyTPM, Handle: tpm.DeviceKeyHandle, Created: dk.Created(), close: t.Close}, nil
}

func fileKey(path string) (*Key, error) {
	s, err := keyfile.Read(path)
	if err == nil {
		return &Key{Signer: s, Kind: KeyFile, File: path}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devicecert: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("devicecert: %w", err)
	}
	if err := keyfile.Write(path, k); err != nil {
		return nil, err
	}
	return &Key{Signer: k, Kind: KeyFile, File: path, Created: true}, nil
}

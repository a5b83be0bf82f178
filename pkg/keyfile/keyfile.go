// Package keyfile reads and writes private keys kept in PEM files that only their owner may read.
package keyfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/oobtpm/oob/pkg/atomicfile"
)

// MaxBytes bounds a key file: an RSA-4096 key in PEM is about 3.3 KiB.
const MaxBytes = 64 << 10

// Read reads a PEM private key (PKCS#8, or SEC 1 "EC PRIVATE KEY", or PKCS#1 "RSA PRIVATE KEY")
// from a regular file that group and others cannot read. A missing file is an error matching
// fs.ErrNotExist.
func Read(path string) (crypto.Signer, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keyfile: key file %s does not exist: check the path: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("keyfile: key file %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyfile: key file %s is readable by others (mode %04o): run `chmod 600 %s`",
			path, info.Mode().Perm(), path)
	}
	if info.Size() > MaxBytes {
		return nil, fmt.Errorf("keyfile: key file %s is over %d bytes: not a private key", path, MaxBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("keyfile: key file %s: %w", path, err)
	}
	return k, nil
}

// Parse decodes the one PEM private key in b. An "EC PARAMETERS" block before it, which
// `openssl ecparam -genkey` writes unless told not to, is skipped; any other block is refused.
func Parse(b []byte) (crypto.Signer, error) {
	blk, rest := pem.Decode(b)
	if blk != nil && blk.Type == "EC PARAMETERS" {
		blk, rest = pem.Decode(rest)
	}
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block: a key file holds one key")
	}
	var k any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("a %q block, not a private key", blk.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

// Encode returns k as PKCS#8 PEM.
func Encode(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("keyfile: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Write writes k to path as PKCS#8 PEM with mode 0600, atomically: a reader sees the old file
// or the whole new one.
func Write(path string, k crypto.Signer) error {
	b, err := Encode(k)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("keyfile: %w", err)
	}
	return nil
}

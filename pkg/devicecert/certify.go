// Package devicecert gets the device its factory certificate: a certificate request under the
// board's hardware GUID, signed by the device's key (in the TPM or a file), sent to the factory's
// EST server, and the chain it answers with checked and kept in the agent's state directory.
package devicecert

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/oobtpm/oob/pkg/atomicfile"
	"github.com/oobtpm/oob/pkg/est"
)

// Files in the agent's state directory, where the first boot's "x509" config section points.
const (
	// ChainFileName is the certificate chain in PEM: the device's certificate, then the
	// factory's intermediate and root (mode 0644).
	ChainFileName = "device-chain.pem"
	// KeyFileName is the private key in PEM PKCS#8 when it is kept in a file (mode 0600).
	KeyFileName = "device-key.pem"
)

// ChainPath returns the chain file's path in stateDir.
func ChainPath(stateDir string) string { return filepath.Join(stateDir, ChainFileName) }

// KeyPath returns the key file's path in stateDir.
func KeyPath(stateDir string) string { return filepath.Join(stateDir, KeyFileName) }

// ErrKeyMismatch means the chain already stored certifies another key than the device's, or
// another hardware ID: the key was replaced, or the files come from another board.
var ErrKeyMismatch = errors.New("devicecert: the stored certificate is not this key's")

// ErrBadAnswer means the factory answered with certificates that do not certify the request.
var ErrBadAnswer = errors.New("devicecert: the factory's certificate is not for this request")

// Enroller sends a certificate request (DER PKCS#10) and returns the certificates answered.
type Enroller interface {
	SimpleEnroll(ctx context.Context, csr []byte) ([]*x509.Certificate, error)
}

// Request is what Certify needs.
type Request struct {
	// HardwareID is the board's GUID in lower case (NormalizeHardwareID), the certificate's CN.
	HardwareID string
	// Key signs the request; the certificate is for its public key.
	Key crypto.Signer
	// ChainFile is where the chain is kept (ChainPath of the state directory).
	ChainFile string
	// Enroller is the factory's EST server (an *est.Client).
	Enroller Enroller
}

// Result is the device's certificate and where it is kept.
type Result struct {
	// Chain is the device's certificate, then the certificates above it, as the factory sent them.
	Chain []*x509.Certificate
	// ChainFile is where they are, in PEM.
	ChainFile string
	// Unchanged reports that the factory answered with the chain already stored.
	Unchanged bool
}

// Leaf returns the device's certificate.
func (r *Result) Leaf() *x509.Certificate { return r.Chain[0] }

// Certify asks the factory for the device's certificate and stores the chain. A chain already
// stored must be for this key and hardware ID (else ErrKeyMismatch, and nothing is sent); the
// factory answers the same key with the same certificate, so running again is safe. The answer
// must hold a certificate for the key and the hardware ID (else ErrBadAnswer); it is stored
// first, its chain after it, atomically.
func Certify(ctx context.Context, req Request) (*Result, error) {
	stored, err := readChain(req.ChainFile)
	if err != nil {
		return nil, err
	}
	if stored != nil {
		if err := matches(stored[0], req); err != nil {
			return nil, fmt.Errorf("%w: %s %v: move it away and run again to certify the current key; "+
				"the factory then needs `oob-factory board reissue %s` to accept a new key for this board",
				ErrKeyMismatch, req.ChainFile, err, req.HardwareID)
		}
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: req.HardwareID},
	}, req.Key)
	if err != nil {
		return nil, fmt.Errorf("devicecert: signing the certificate request: %w", err)
	}
	certs, err := req.Enroller.SimpleEnroll(ctx, csr)
	if err != nil {
		return nil, err
	}
	chain, err := leafFirst(certs, req)
	if err != nil {
		return nil, err
	}
	pemChain := est.EncodePEM(chain)
	res := &Result{Chain: chain, ChainFile: req.ChainFile}
	if old, err := os.ReadFile(req.ChainFile); err == nil && bytes.Equal(old, pemChain) {
		res.Unchanged = true
		return res, nil
	}
	if err := os.MkdirAll(filepath.Dir(req.ChainFile), 0o700); err != nil {
		return nil, fmt.Errorf("devicecert: %w", err)
	}
	if err := atomicfile.Write(req.ChainFile, pemChain, 0o644); err != nil {
		return nil, fmt.Errorf("devicecert: storing the certificate: %w", err)
	}
	return res, nil
}

// readChain reads the stored chain; nil and no error when there is none.
func readChain(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("devicecert: %w", err)
	}
	certs, err := est.ParsePEM(b)
	if err != nil {
		return nil, fmt.Errorf("devicecert: %s is damaged (%v): move it away and run again", path, err)
	}
	return certs, nil
}

// matches reports why c is not the certificate of req's key and hardware ID, or nil.
func matches(c *x509.Certificate, req Request) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := req.Key.Public().(equaler); !ok || !pub.Equal(c.PublicKey) {
		return errors.New("certifies another key than the device's")
	}
	if c.Subject.CommonName != req.HardwareID {
		return fmt.Errorf("is for %q, not %q", c.Subject.CommonName, req.HardwareID)
	}
	return nil
}

// leafFirst finds the certificate for req among certs and returns it followed by the others.
func leafFirst(certs []*x509.Certificate, req Request) ([]*x509.Certificate, error) {
	for i, c := range certs {
		if matches(c, req) == nil {
			chain := append([]*x509.Certificate{c}, certs[:i]...)
			return append(chain, certs[i+1:]...), nil
		}
	}
	return nil, fmt.Errorf("%w: none of its %d certificates is for %s and this key", ErrBadAnswer, len(certs), req.HardwareID)
}

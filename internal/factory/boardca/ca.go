// Package boardca is the factory's certificate authority: a root and an issuing intermediate kept
// in the data directory, which certify boards under their hardware GUID.
package boardca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/oobtpm/oob/pkg/atomicfile"
	"github.com/oobtpm/oob/pkg/keyfile"
)

// Files in the data directory.
const (
	RootCertFile = "ca-root.pem"
	RootKeyFile  = "ca-root.key"
	CertFile     = "ca-intermediate.pem"
	KeyFile      = "ca-intermediate.key"
)

// KeyType names the key algorithm of a new CA.
type KeyType string

// Key types a CA may be made with.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	RSA3072   KeyType = "rsa3072"
)

// ErrNoCA means the data directory holds no CA yet.
var ErrNoCA = errors.New("boardca: no CA in the data directory: run `oob-factory ca init` or `oob-factory ca import`")

// ErrExists means a CA is already there; nothing was overwritten.
var ErrExists = errors.New("boardca: the data directory already holds a CA")

// CA is a loaded issuing intermediate and the root above it.
type CA struct {
	Root         *x509.Certificate
	Intermediate *x509.Certificate
	key          crypto.Signer
	rootKey      crypto.Signer // nil when the root was imported without its key
	dir          string
}

// NewKey returns a new private key of type kt.
func NewKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case ECDSAP256, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("boardca: unknown key type %q: use %s or %s", kt, ECDSAP256, RSA3072)
}

// Init makes a new root and intermediate of key type kt in dir. It refuses to replace a CA.
func Init(dir, name string, kt KeyType, now time.Time) (*CA, error) {
	if exists(dir) {
		return nil, ErrExists
	}
	rootKey, err := NewKey(kt)
	if err != nil {
		return nil, err
	}
	key, err := NewKey(kt)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " Root CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(25, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	root, err := sign(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	intTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " Issuing CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	inter, err := sign(intTmpl, root, key.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	ca := &CA{Root: root, Intermediate: inter, key: key, rootKey: rootKey, dir: dir}
	return ca, ca.save()
}

// Import takes an existing root certificate, intermediate certificate and the intermediate's key
// (from a file that only its owner may read) into dir. The intermediate must be a CA signed by
// the root, and the key must be its own.
func Import(dir string, rootPEM, certPEM []byte, keyPath string) (*CA, error) {
	if exists(dir) {
		return nil, ErrExists
	}
	root, err := ParseCertificate(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("boardca: root certificate: %w", err)
	}
	inter, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, fmt.Errorf("boardca: intermediate certificate: %w", err)
	}
	key, err := ReadKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !root.IsCA || !inter.IsCA {
		return nil, errors.New("boardca: both certificates must be CA certificates (basic constraints CA:TRUE)")
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("boardca: the intermediate is not signed by the root: %w", err)
	}
	if !samePublicKey(inter.PublicKey, key.Public()) {
		return nil, errors.New("boardca: the key file does not hold the intermediate certificate's key")
	}
	ca := &CA{Root: root, Intermediate: inter, key: key, dir: dir}
	return ca, ca.save()
}

// Load reads the CA from dir.
func Load(dir string) (*CA, error) {
	if !exists(dir) {
		return nil, ErrNoCA
	}
	rootPEM, err := os.ReadFile(filepath.Join(dir, RootCertFile))
	if err != nil {
		return nil, fmt.Errorf("boardca: %w", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, fmt.Errorf("boardca: %w", err)
	}
	root, err := ParseCertificate(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("boardca: %s: %w", RootCertFile, err)
	}
	inter, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, fmt.Errorf("boardca: %s: %w", CertFile, err)
	}
	key, err := ReadKeyFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, err
	}
	ca := &CA{Root: root, Intermediate: inter, key: key, dir: dir}
	if _, err := os.Stat(filepath.Join(dir, RootKeyFile)); err == nil {
		if ca.rootKey, err = ReadKeyFile(filepath.Join(dir, RootKeyFile)); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

// save writes the CA to its directory: keys first and the intermediate's certificate last, since
// that certificate's presence is what makes the directory hold a CA.
func (ca *CA) save() error {
	if err := os.MkdirAll(ca.dir, 0o700); err != nil {
		return fmt.Errorf("boardca: %w", err)
	}
	if ca.rootKey != nil {
		if err := writeKey(filepath.Join(ca.dir, RootKeyFile), ca.rootKey); err != nil {
			return err
		}
	}
	if err := writeKey(filepath.Join(ca.dir, KeyFile), ca.key); err != nil {
		return err
	}
	if err := writeCert(filepath.Join(ca.dir, RootCertFile), ca.Root); err != nil {
		return err
	}
	return writeCert(filepath.Join(ca.dir, CertFile), ca.Intermediate)
}

func exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, CertFile))
	return err == nil
}

// Chain returns the intermediate then the root, as a board presents them after its leaf.
func (ca *CA) Chain() []*x509.Certificate { return []*x509.Certificate{ca.Intermediate, ca.Root} }

// IssueBoard certifies pub as the board guid: CN = guid, client authentication only, valid for
// validity from now. Nothing from a request is copied but the key.
func (ca *CA) IssueBoard(guid string, pub crypto.PublicKey, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: guid},
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    now.Add(validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if tmpl.NotAfter.After(ca.Intermediate.NotAfter) {
		tmpl.NotAfter = ca.Intermediate.NotAfter
	}
	return sign(tmpl, ca.Intermediate, pub, ca.key)
}

// Which names the CA certificate that DPS is asked to verify.
type Which string

// The CA certificates a verification certificate can be made for.
const (
	Intermediate Which = "intermediate"
	Root         Which = "root"
)

// VerificationCertificate returns the certificate DPS's proof of possession asks for: CN = code,
// signed by the CA certificate being verified, with a fresh key that is thrown away.
func (ca *CA) VerificationCertificate(code string, which Which, now time.Time) (*x509.Certificate, error) {
	if code == "" {
		return nil, errors.New("boardca: the verification code is empty: copy it from the DPS certificate's page")
	}
	parent, key := ca.Intermediate, ca.key
	if which == Root {
		if ca.rootKey == nil {
			return nil, errors.New("boardca: the root's key is not in the data directory (the CA was imported): verify the intermediate instead")
		}
		parent, key = ca.Root, ca.rootKey
	}
	k, err := NewKey(ECDSAP256)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: code},
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    now.Add(30 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return sign(tmpl, parent, k.Public(), key)
}

// ServerCertificate returns a TLS server certificate for hosts, signed by the intermediate, for
// running the EST server without one from elsewhere.
func (ca *CA) ServerCertificate(hosts []string, now time.Time) (tls.Certificate, error) {
	k, err := NewKey(ECDSAP256)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		NotBefore:   now.Add(-5 * time.Minute),
		NotAfter:    now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	c, err := sign(tmpl, ca.Intermediate, k.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{c.Raw, ca.Intermediate.Raw}, PrivateKey: k, Leaf: c}, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("boardca: serial: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("boardca: sign: %w", err)
	}
	return x509.ParseCertificate(der)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// ParseCertificate parses one PEM certificate.
func ParseCertificate(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// PEM encodes certificates as PEM, in order.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a private key as PKCS#8 PEM.
func KeyPEM(k crypto.Signer) ([]byte, error) { return keyfile.Encode(k) }

// ReadKeyFile reads a PEM private key (PKCS#8, PKCS#1 or SEC 1) from a file that group and others
// cannot read.
func ReadKeyFile(path string) (crypto.Signer, error) { return keyfile.Read(path) }

// WriteFile writes b to path atomically with mode perm (temp file, fsync, rename).
func WriteFile(path string, b []byte, perm os.FileMode) error { return atomicfile.Write(path, b, perm) }

func writeKey(path string, k crypto.Signer) error {
	b, err := KeyPEM(k)
	if err != nil {
		return err
	}
	return WriteFile(path, b, 0o600)
}

func writeCert(path string, c *x509.Certificate) error { return WriteFile(path, PEM(c), 0o644) }

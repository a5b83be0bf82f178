// Package tlsca is the DPS emulator's own certificate authority, kept in its data directory: it
// issues the server certificates of the emulated services and X.509 device certificates.
package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

	"github.com/oobtpm/oob/internal/emulator/datadir"
)

// File names of the CA in the emulator's data directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// CA is the emulator's own certificate authority: clients trust ca.pem, the emulator signs its
// server certificate with it at every start (so new names take effect) while the CA itself stays
// the same across restarts.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// PEM is the certificate as written to ca.pem.
	PEM []byte
}

// LoadOrCreate reads the CA from dir, or creates an ECDSA P-256 CA valid for ten years and
// writes it there (the key with mode 0600) when there is none.
func LoadOrCreate(dir string) (*CA, error) {
	certPEM, certErr := os.ReadFile(filepath.Join(dir, CertFile))
	keyPEM, keyErr := os.ReadFile(filepath.Join(dir, KeyFile))
	if certErr == nil && keyErr == nil {
		return parseCA(certPEM, keyPEM)
	}
	if !errors.Is(certErr, os.ErrNotExist) && certErr != nil {
		return nil, fmt.Errorf("emulator: read CA: %w", certErr)
	}
	if !errors.Is(keyErr, os.ErrNotExist) && keyErr != nil {
		return nil, fmt.Errorf("emulator: read CA key: %w", keyErr)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "dps-emulator local CA", Organization: []string{"oob dps-emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("emulator: create CA: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	// The key first: a crash between the two writes leaves a key without a certificate, which the
	// next start overwrites, never a certificate whose key is lost.
	if err := datadir.WriteFileAtomic(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := datadir.WriteFileAtomic(filepath.Join(dir, CertFile), certPEM, 0o644); err != nil {
		return nil, err
	}
	return parseCA(certPEM, keyPEM)
}

func parseCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("emulator: CA files are not PEM; remove ca.pem and ca-key.pem to make a new CA")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("emulator: parse CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("emulator: parse CA key: %w", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("emulator: ca-key.pem does not belong to ca.pem; remove both to make a new CA")
	}
	return &CA{Cert: cert, Key: key, PEM: certPEM}, nil
}

// ServerCertificate issues a TLS server certificate for localhost, 127.0.0.1 and ::1 and the
// extra names given (DNS names or IP addresses), valid for a year.
func (ca *CA) ServerCertificate(extraNames ...string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, n := range extraNames {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" && n != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	cert, err := ca.issue(tmpl)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: issue server certificate: %w", err)
	}
	cert.Certificate = append(cert.Certificate, ca.Cert.Raw)
	return cert, nil
}

// DeviceCertificate issues an X.509 device certificate (client authentication) with common name
// commonName, valid for a year: what an X.509 device presents to register, and what its
// individual enrollment holds. Each call makes a new key, so two certificates for one name are
// two different devices.
func (ca *CA) DeviceCertificate(commonName string) (tls.Certificate, error) {
	cert, err := ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: issue device certificate: %w", err)
	}
	return cert, nil
}

// issue signs tmpl (subject, names and extended key usage set) for a fresh P-256 key, valid for a
// year from an hour ago, for digital signatures.
func (ca *CA) issue(tmpl *x509.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl.SerialNumber = randomSerial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.AddDate(1, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// CertificatePEM returns a certificate's leaf as PEM, the form an enrollment takes it in.
func CertificatePEM(c tls.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}))
}

// TLSConfig returns a server TLS configuration presenting cert, TLS 1.2 or later. It asks for a
// client certificate without requiring or verifying one: X.509 devices authenticate with it (the
// device API compares it with the enrolled one), every other client goes on without.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: tls.RequestClientCert}
}

// CertPool returns a pool holding the CA, for clients.
func (ca *CA) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

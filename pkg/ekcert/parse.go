package ekcert

import (
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrNotCertificate marks input that is not an EK certificate this package can read.
var ErrNotCertificate = errors.New("not a readable EK certificate")

// MaxSize bounds the input Parse accepts: EK certificates are 1-2 KB and an NV index holds at
// most a few KB, so anything far larger is not one.
const MaxSize = 16 << 10

// Certificate is an EK certificate as read by Parse.
type Certificate struct {
	// X509 is the certificate as crypto/x509 sees it, with what this package handled filled in:
	// PublicKey set for an id-RSAES-OAEP key, SerialNumber the serial as issued (possibly
	// negative), the TCG subjectAltName removed from UnhandledCriticalExtensions. Raw and
	// RawTBSCertificate are the bytes as issued.
	X509 *x509.Certificate
	// TPM is what the TCG subjectAltName says of the TPM; zero when the certificate has none.
	TPM TPMInfo
	// Quirks lists what in the certificate departs from RFC 5280 or the TCG profile and was
	// accepted, e.g. "negative serial number"; nil for a certificate that needed nothing.
	Quirks []string
}

// Parse reads an EK certificate from the contents of its NV index or from a DER file: a TCG
// header and trailing padding are removed (Unwrap), then the certificate is parsed.
func Parse(nv []byte) (*Certificate, error) {
	if len(nv) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d an EK certificate NV index holds", ErrNotCertificate, len(nv), MaxSize)
	}
	der, err := Unwrap(nv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCertificate, err)
	}
	var quirks []string
	if len(der) != len(nv) {
		quirks = append(quirks, fmt.Sprintf("%d bytes of NV header or padding around the DER", len(nv)-len(der)))
	}
	cert, more, err := parseX509(der)
	if err != nil {
		return nil, err
	}
	quirks = append(quirks, more...)
	info, err := tcgSubjectAltName(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotCertificate, err)
	}
	return &Certificate{X509: cert, TPM: info, Quirks: quirks}, nil
}

// parseX509 is x509.ParseCertificate for exactly one DER certificate, accepting what TPM makers
// ship and Go refuses: a negative or non-minimal serial number and an id-RSAES-OAEP key.
func parseX509(der []byte) (*x509.Certificate, []string, error) {
	fixed, issued, err := fixSerial(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotCertificate, err)
	}
	cert, err := x509.ParseCertificate(fixed.der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrNotCertificate, err)
	}
	var quirks []string
	if fixed.quirk != "" {
		quirks = append(quirks, fixed.quirk)
		cert.Raw = der
		cert.RawTBSCertificate = issued
		cert.SerialNumber = fixed.serial
	}
	if cert.PublicKey == nil {
		pub, err := oaepKey(cert.RawSubjectPublicKeyInfo)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrNotCertificate, err)
		}
		cert.PublicKey, cert.PublicKeyAlgorithm = pub, x509.RSA
		quirks = append(quirks, "id-RSAES-OAEP key type")
	}
	return cert, quirks, nil
}

// Package est is the factory's RFC 7030 (EST) server: stations fetch the CA certificates and ask
// for each board's certificate with a PKCS#10 request, authenticated by a token or a client
// certificate.
package est

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/oobtpm/oob/internal/factory/certify"
)

// MaxRequestBytes bounds a simpleenroll body: an RSA-4096 request in base64 is under 3 KiB.
const MaxRequestBytes = 16 << 10

// ErrBadRequest is the category of every refused request body.
var ErrBadRequest = errors.New("est: bad request")

// oidChallengePassword is PKCS#9 challengePassword, which EST does not use here.
var oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}

// Request is a checked certificate request: the board's GUID and the key to certify.
type Request struct {
	GUID string
	CSR  *x509.CertificateRequest
}

// ParseRequest decodes and checks a simpleenroll body: base64 DER PKCS#10 (whitespace allowed),
// a valid self-signature, an accepted key, and a subject that is exactly CN = a lower-case GUID.
// Extensions in the request are not honoured; the issued certificate's are the factory's own.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > MaxRequestBytes {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrBadRequest, MaxRequestBytes)
	}
	clean := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, body)
	der, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil {
		return nil, fmt.Errorf("%w: the body is not base64 (send base64 DER PKCS#10 as application/pkcs10)", ErrBadRequest)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS#10 request: %v", ErrBadRequest, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: the request's signature does not verify: %v", ErrBadRequest, err)
	}
	if err := certify.CheckKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	subj := csr.Subject
	if len(subj.Names) != 1 || subj.CommonName == "" {
		return nil, fmt.Errorf("%w: the subject must be exactly CN=<board GUID>, got %q", ErrBadRequest, subj.String())
	}
	if err := certify.CheckGUID(subj.CommonName); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	for _, a := range csr.Attributes {
		if a.Type.Equal(oidChallengePassword) {
			return nil, fmt.Errorf("%w: challenge passwords are not used: authenticate the station with its token or certificate", ErrBadRequest)
		}
	}
	return &Request{GUID: subj.CommonName, CSR: csr}, nil
}

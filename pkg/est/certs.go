package est

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/smallstep/pkcs7"
)

// ParseCertsOnly reads an EST answer: a certs-only (degenerate signed-data) PKCS#7 in base64,
// line breaks and spaces allowed. It returns the certificates in the order they are in, and
// refuses an answer without any or one carrying signatures or content.
func ParseCertsOnly(body []byte) (certs []*x509.Certificate, err error) {
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("%w: answer over %d bytes", ErrBadResponse, MaxResponseBytes)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: the answer is not base64: %v", ErrBadResponse, err)
	}
	// pkcs7 parses by reflection over encoding/asn1; should hostile bytes make it panic, that is
	// a malformed answer, not a crash.
	defer func() {
		if r := recover(); r != nil {
			certs, err = nil, fmt.Errorf("%w: the answer is not PKCS#7: %v", ErrBadResponse, r)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: the answer is not PKCS#7: %v", ErrBadResponse, err)
	}
	if len(p7.Signers) != 0 || len(p7.Content) != 0 {
		return nil, fmt.Errorf("%w: the PKCS#7 is signed data, not certs-only", ErrBadResponse)
	}
	if len(p7.Certificates) == 0 {
		return nil, fmt.Errorf("%w: the PKCS#7 holds no certificate", ErrBadResponse)
	}
	return p7.Certificates, nil
}

// EncodePEM returns certs as PEM CERTIFICATE blocks, in order.
func EncodePEM(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// ParsePEM reads a certificate chain in PEM, as EncodePEM writes it: one or more CERTIFICATE
// blocks and nothing else but white space.
func ParsePEM(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("est: a %q block where a certificate should be", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("est: certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("est: text that is not a PEM certificate")
	}
	if len(certs) == 0 {
		return nil, errors.New("est: no PEM certificate")
	}
	return certs, nil
}

// Package enrollcert handles the X.509 certificates of DPS attestations as the service does:
// parsed from PEM or base64 DER, named by their thumbprints, described by the info DPS reports,
// and shown or kept in the two forms an enrollment holds them in.
package enrollcert

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Parse reads a certificate sent as PEM or as base64 DER.
func Parse(s string) (*x509.Certificate, error) {
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block is %q, not CERTIFICATE", quote.Short(block.Type))
		}
		der = block.Bytes
	} else {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("neither PEM nor base64 DER")
		}
		der = raw
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("cannot parse: %s", quote.Short(err.Error()))
	}
	return cert, nil
}

// Info is what the service reports about an accepted certificate.
func Info(c *x509.Certificate) *dpsapi.X509CertificateInfo {
	s1 := sha1.Sum(c.Raw)
	return &dpsapi.X509CertificateInfo{
		SubjectName:      c.Subject.String(),
		SHA1Thumbprint:   strings.ToUpper(hex.EncodeToString(s1[:])),
		SHA256Thumbprint: Thumbprint(c),
		IssuerName:       c.Issuer.String(),
		NotBeforeUTC:     c.NotBefore.UTC(),
		NotAfterUTC:      c.NotAfter.UTC(),
		SerialNumber:     strings.ToUpper(c.SerialNumber.Text(16)),
		Version:          c.Version,
	}
}

// Thumbprint is a certificate's SHA-256 thumbprint as the service shows it: upper-case hex.
func Thumbprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// EnrolledThumbprint returns an enrolled certificate's SHA-256 thumbprint: its info's, or the
// certificate's own; empty when it has neither.
func EnrolledThumbprint(c *dpsapi.X509CertificateWithInfo) string {
	if c.Info != nil && c.Info.SHA256Thumbprint != "" {
		return strings.ToUpper(c.Info.SHA256Thumbprint)
	}
	if cert, err := Parse(c.Certificate); err == nil {
		return Thumbprint(cert)
	}
	return ""
}

// Keep restores, in an update of an attestation mechanism (an individual enrollment's or a
// group's), certificates the caller sent back as info only (the form the service returns them
// in), when the thumbprint names the certificate already stored in old.
func Keep(rec, old *dpsapi.Attestation) {
	nw, od := x509Of(rec), x509Of(old)
	if nw == nil || od == nil {
		return
	}
	stored := map[string]string{}
	for _, set := range []*dpsapi.X509Certificates{od.ClientCertificates, od.SigningCertificates} {
		for _, c := range List(set) {
			if c.Certificate != "" && c.Info != nil {
				stored[c.Info.SHA256Thumbprint] = c.Certificate
			}
		}
	}
	for _, set := range []*dpsapi.X509Certificates{nw.ClientCertificates, nw.SigningCertificates} {
		for _, c := range List(set) {
			if c.Certificate == "" && c.Info != nil {
				if pem, ok := stored[c.Info.SHA256Thumbprint]; ok {
					c.Certificate = pem
				}
			}
		}
	}
}

// Present returns a copy of a as the service shows it (certificates replaced by their info), or
// a itself when it holds no certificates.
func Present(a *dpsapi.Attestation) *dpsapi.Attestation {
	xa := x509Of(a)
	if xa == nil {
		return a
	}
	cp := *a
	x := *xa
	cp.X509 = &x
	for _, set := range []**dpsapi.X509Certificates{&x.ClientCertificates, &x.SigningCertificates} {
		if *set == nil {
			continue
		}
		s := **set
		*set = &s
		for _, c := range []**dpsapi.X509CertificateWithInfo{&s.Primary, &s.Secondary} {
			if *c != nil {
				v := **c
				v.Certificate = ""
				*c = &v
			}
		}
	}
	return &cp
}

func x509Of(a *dpsapi.Attestation) *dpsapi.X509Attestation {
	if a == nil {
		return nil
	}
	return a.X509
}

// List returns the certificates of a set, primary first, leaving out the absent ones.
func List(set *dpsapi.X509Certificates) []*dpsapi.X509CertificateWithInfo {
	if set == nil {
		return nil
	}
	var out []*dpsapi.X509CertificateWithInfo
	for _, c := range []*dpsapi.X509CertificateWithInfo{set.Primary, set.Secondary} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

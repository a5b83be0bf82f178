package emulator

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// validateX509 checks an X.509 attestation: a client certificate or a CA reference, every
// certificate parseable, and records each certificate's info as the service reports it.
func validateX509(a *dpsapi.X509Attestation) *apiError {
	if a == nil || (a.ClientCertificates == nil && a.SigningCertificates == nil && a.CAReferences == nil) {
		return errorf(CodeInvalidArgument, "attestation.x509 needs clientCertificates, signingCertificates or caReferences.")
	}
	if a.CAReferences != nil && a.CAReferences.Primary == "" {
		return errorf(CodeInvalidArgument, "attestation.x509.caReferences.primary is required.")
	}
	for _, set := range []*dpsapi.X509Certificates{a.ClientCertificates, a.SigningCertificates} {
		if set == nil {
			continue
		}
		if set.Primary == nil {
			return errorf(CodeInvalidArgument, "attestation.x509 certificates need a primary certificate.")
		}
		for _, c := range []*dpsapi.X509CertificateWithInfo{set.Primary, set.Secondary} {
			if c == nil {
				continue
			}
			if c.Certificate == "" {
				// A record read back from the service carries info but no certificate; keepCertificates
				// restores the certificate when the thumbprint names the stored one.
				if c.Info == nil || c.Info.SHA256Thumbprint == "" {
					return errorf(CodeInvalidArgument, "attestation.x509: a certificate entry has no certificate.")
				}
				continue
			}
			cert, err := parseCertificate(c.Certificate)
			if err != nil {
				return errorf(CodeInvalidArgument, "attestation.x509: certificate is invalid: %s.", err)
			}
			c.Info = certificateInfo(cert)
		}
	}
	return nil
}

// parseCertificate reads a certificate sent as PEM or as base64 DER.
func parseCertificate(s string) (*x509.Certificate, error) {
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block is %q, not CERTIFICATE", truncate(block.Type))
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
		return nil, fmt.Errorf("cannot parse: %s", truncate(err.Error()))
	}
	return cert, nil
}

// certificateInfo is what the service reports about an accepted certificate.
func certificateInfo(c *x509.Certificate) *dpsapi.X509CertificateInfo {
	s1 := sha1.Sum(c.Raw)
	return &dpsapi.X509CertificateInfo{
		SubjectName:      c.Subject.String(),
		SHA1Thumbprint:   strings.ToUpper(hex.EncodeToString(s1[:])),
		SHA256Thumbprint: thumbprint(c),
		IssuerName:       c.Issuer.String(),
		NotBeforeUTC:     c.NotBefore.UTC(),
		NotAfterUTC:      c.NotAfter.UTC(),
		SerialNumber:     strings.ToUpper(c.SerialNumber.Text(16)),
		Version:          c.Version,
	}
}

// keepCertificates restores, in an update, certificates the caller sent back as info only (the
// form the service returns them in), when the thumbprint names the certificate already stored.
func keepCertificates(rec, old *dpsapi.IndividualEnrollment) {
	keepAttestationCertificates(rec.Attestation, old.Attestation)
}

// keepAttestationCertificates is keepCertificates for an attestation mechanism, an individual
// enrollment's or a group's.
func keepAttestationCertificates(rec, old *dpsapi.Attestation) {
	nw, od := x509Of(rec), x509Of(old)
	if nw == nil || od == nil {
		return
	}
	stored := map[string]string{}
	for _, set := range []*dpsapi.X509Certificates{od.ClientCertificates, od.SigningCertificates} {
		for _, c := range certsOf(set) {
			if c.Certificate != "" && c.Info != nil {
				stored[c.Info.SHA256Thumbprint] = c.Certificate
			}
		}
	}
	for _, set := range []*dpsapi.X509Certificates{nw.ClientCertificates, nw.SigningCertificates} {
		for _, c := range certsOf(set) {
			if c.Certificate == "" && c.Info != nil {
				if pem, ok := stored[c.Info.SHA256Thumbprint]; ok {
					c.Certificate = pem
				}
			}
		}
	}
}

// present returns the enrollment as the service shows it: certificates replaced by their info.
func present(e dpsapi.IndividualEnrollment) dpsapi.IndividualEnrollment {
	e.Attestation = presentAttestation(e.Attestation)
	return e
}

// presentAttestation returns a copy of a as the service shows it (certificates replaced by their
// info), or a itself when it holds no certificates.
func presentAttestation(a *dpsapi.Attestation) *dpsapi.Attestation {
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

func certsOf(set *dpsapi.X509Certificates) []*dpsapi.X509CertificateWithInfo {
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

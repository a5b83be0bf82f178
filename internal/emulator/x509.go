package emulator

import (
	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// validateX509 checks an X.509 attestation: a client certificate or a CA reference, every
// certificate parseable, and records each certificate's info as the service reports it.
func validateX509(a *dpsapi.X509Attestation) *httpapi.Error {
	if a == nil || (a.ClientCertificates == nil && a.SigningCertificates == nil && a.CAReferences == nil) {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509 needs clientCertificates, signingCertificates or caReferences.")
	}
	if a.CAReferences != nil && a.CAReferences.Primary == "" {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509.caReferences.primary is required.")
	}
	for _, set := range []*dpsapi.X509Certificates{a.ClientCertificates, a.SigningCertificates} {
		if set == nil {
			continue
		}
		if set.Primary == nil {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509 certificates need a primary certificate.")
		}
		for _, c := range []*dpsapi.X509CertificateWithInfo{set.Primary, set.Secondary} {
			if c == nil {
				continue
			}
			if c.Certificate == "" {
				// A record read back from the service carries info but no certificate; keepCertificates
				// restores the certificate when the thumbprint names the stored one.
				if c.Info == nil || c.Info.SHA256Thumbprint == "" {
					return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509: a certificate entry has no certificate.")
				}
				continue
			}
			cert, err := enrollcert.Parse(c.Certificate)
			if err != nil {
				return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.x509: certificate is invalid: %s.", err)
			}
			c.Info = enrollcert.Info(cert)
		}
	}
	return nil
}

package netcheck

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/doctor"
)

// ExpiringSoon is how close to its end a CA certificate's validity makes the CA file check warn.
const ExpiringSoon = 30 * 24 * time.Hour

// CAFile returns a check, named "ca.file", of the private CA file path: readable, PEM, every
// certificate in it parsable and within its validity period by this machine's clock (a warning
// within ExpiringSoon of its end). from says how the program is given the file, for fixes
// ("--ca-file FILE or $DPS_CA_FILE"). An empty path passes: the system's CAs are trusted.
func CAFile(path, from string) doctor.Check {
	if from == "" {
		from = "the CA file setting"
	}
	return doctor.Check{
		Name:  "ca.file",
		Title: "CA file",
		Run: func(ctx context.Context) doctor.Finding {
			if path == "" {
				return doctor.Okf("none given: the system's CAs are trusted")
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return doctor.Failf("give the service's CA certificate file with "+from, "cannot read %s: %v", path, err)
			}
			return inspectCAFile(b, path, from, time.Now())
		},
	}
}

// inspectCAFile judges the contents b of the CA file path at the time now.
func inspectCAFile(b []byte, path, from string, now time.Time) doctor.Finding {
	var certs []*x509.Certificate
	var keys int
	rest := b
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return doctor.Failf("give the CA's certificate in PEM form with "+from,
					"%s: certificate %d cannot be parsed: %v", path, len(certs)+1, err)
			}
			certs = append(certs, c)
		case strings.Contains(block.Type, "PRIVATE KEY"):
			keys++
		}
	}
	if len(certs) == 0 {
		what := "no PEM certificate"
		if len(bytes.TrimSpace(b)) == 0 {
			what = "nothing: it is empty"
		}
		return doctor.Failf("give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----) with "+from, "%s holds %s", path, what)
	}
	var names []string
	for _, c := range certs {
		name := c.Subject.CommonName
		if name == "" {
			name = c.Subject.String()
		}
		switch {
		case now.After(c.NotAfter):
			return doctor.Failf("get the CA's current certificate; if it is not expired, check this machine's clock (timedatectl)",
				"%s: %q expired on %s", path, name, c.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(c.NotBefore):
			return doctor.Failf("check this machine's clock (timedatectl): the certificate is not valid yet by it",
				"%s: %q is valid only from %s", path, name, c.NotBefore.UTC().Format(time.RFC3339))
		}
		names = append(names, fmt.Sprintf("%q until %s", name, c.NotAfter.UTC().Format(time.DateOnly)))
	}
	summary := fmt.Sprintf("%s: %d certificate(s): %s", path, len(certs), strings.Join(names, ", "))
	if keys > 0 {
		return doctor.Warnf("keep only the certificate in the CA file: the CA's private key does not belong on this machine",
			"%s, and %d private key(s)", summary, keys)
	}
	for _, c := range certs {
		if c.NotAfter.Sub(now) < ExpiringSoon {
			return doctor.Warnf("get the CA's renewed certificate before then",
				"%s: %q expires in %d days", summary, c.Subject.CommonName, int(c.NotAfter.Sub(now).Hours()/24+0.5))
		}
	}
	return doctor.Okf("%s", summary)
}

package netcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/doctor"
)

// TLS returns a check, named "dps.tls", that a TLS handshake with t's address verifies with the
// CA in use (t.CAFile, else the system's roots), and says with which CA and what the server's
// certificate is. A certificate from another CA fails naming its issuer and the CA it was
// checked against; so do a name mismatch and an expired certificate, each with what to do.
// Callers may rename the returned check.
func TLS(t Target) doctor.Check {
	return doctor.Check{
		Name:  "dps.tls",
		Title: "TLS to " + t.Addr(),
		Run: func(ctx context.Context) doctor.Finding {
			conf, ca, f, ok := t.tlsConfig()
			if !ok {
				return f
			}
			d := tls.Dialer{NetDialer: &net.Dialer{}, Config: conf}
			c, err := d.DialContext(ctx, "tcp", t.Addr())
			if err != nil {
				return t.tlsFailure(err, ca)
			}
			defer c.Close()
			st := c.(*tls.Conn).ConnectionState()
			leaf := st.PeerCertificates[0]
			return doctor.Okf("%s, verified with %s: the certificate for %s is issued by %s, valid until %s",
				tls.VersionName(st.Version), ca, certNames(leaf), leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format(time.DateOnly))
		},
	}
}

// tlsConfig returns the client configuration trusting t's CA and that CA's description, or a
// failed finding when the CA file cannot be used.
func (t Target) tlsConfig() (*tls.Config, string, doctor.Finding, bool) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.Host}
	if t.CAFile == "" {
		return conf, "the system's CAs", doctor.Finding{}, true
	}
	pool, err := cafile.Load(t.CAFile)
	if err != nil {
		return nil, "", doctor.Failf("give a readable PEM file of the service's CA with "+t.caFrom(), "%v", err), false
	}
	conf.RootCAs = pool
	return conf, "the CA file " + t.CAFile, doctor.Finding{}, true
}

// tlsFailure explains a failed handshake checked against ca.
func (t Target) tlsFailure(err error, ca string) doctor.Finding {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	var opErr *net.OpError
	switch {
	case errors.As(err, &unknown):
		issuer := "an unknown issuer"
		if unknown.Cert != nil {
			issuer = fmt.Sprintf("%q", unknown.Cert.Issuer.String())
		}
		fix := "give the CA that issued it with " + t.caFrom()
		if t.CAFile == "" {
			fix = "the service uses a private CA: " + fix
		} else {
			fix = "give the right CA file (" + t.caFrom() + "), or none to use the system's CAs; a proxy that inspects TLS is another cause"
		}
		return doctor.Failf(fix, "%s's certificate is issued by %s, which %s does not hold", t.Addr(), issuer, ca)
	case errors.As(err, &host):
		return doctor.Failf("check "+t.hostFrom()+": the server at this address is not the service named, or its certificate lacks the name",
			"%s's certificate is for %s, not %s", t.Addr(), certNames(host.Certificate), t.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return doctor.Failf("check this machine's clock (timedatectl); if it is right, the service's certificate must be renewed",
			"%s's certificate is outside its validity period by this machine's clock (%s): %v",
			t.Addr(), time.Now().UTC().Format(time.RFC3339), invalid)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return doctor.Failf("check that the service runs at "+t.Addr()+" and that no firewall blocks the port",
			"cannot connect to %s: %v", t.Addr(), opErr.Err)
	}
	return doctor.Failf("check the network path to "+t.Addr()+" (a proxy or captive portal answers in the service's place?)",
		"TLS handshake with %s failed: %v", t.Addr(), err)
}

// certNames lists a certificate's DNS names and IP addresses, or its common name.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no name"
	}
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}

package hubclient

import (
	"crypto/tls"
	"crypto/x509"
)

// clientTLS returns the TLS configuration for the hub connection. The server is always verified,
// against roots (nil: the system's) and the hub's host name; cert, when set, authenticates the
// device.
func clientTLS(serverName string, roots *x509.CertPool, cert *tls.Certificate) *tls.Config {
	cfg := &tls.Config{ServerName: serverName, RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

package hubclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"sync"
)

// verifyRecorder remembers the last server certificate verification failure of a connection
// attempt, so that Connect can report a TLS failure as one.
type verifyRecorder struct {
	mu  sync.Mutex
	err error
}

func (r *verifyRecorder) set(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *verifyRecorder) get() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// clientTLS returns the TLS configuration for the hub connection. The server is always verified,
// against roots (nil: the system's) and serverName, as crypto/tls would verify it; the
// verification is done in VerifyConnection, as crypto/tls documents for custom verification, only
// so that its error can be recorded: the MQTT client reports handshake failures as text.
func clientTLS(serverName string, roots *x509.CertPool, cert *tls.Certificate, rec *verifyRecorder) *tls.Config {
	cfg := &tls.Config{
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
		// Not skipped: VerifyConnection below verifies the chain and the name.
		InsecureSkipVerify: true, //nolint:gosec
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := verifyServer(cs, serverName, roots)
			rec.set(err)
			return err
		},
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

func verifyServer(cs tls.ConnectionState, serverName string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	opts := x509.VerifyOptions{
		DNSName:       serverName,
		Roots:         roots,
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

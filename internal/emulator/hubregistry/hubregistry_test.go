package hubregistry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"

	"github.com/oobtpm/oob/internal/emulator/datadir"
	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
)

// TestCertificatesPerHubName: a device dialling any hub DPS assigned it to gets a certificate for
// that hub's own name, verified by the emulator's CA; a name that cannot be a host gets the
// fallback.
func TestCertificatesPerHubName(t *testing.T) {
	ca, err := tlsca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	certs, err := NewCertificates(ca, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sni, verifyAs string }{
		{"factory-hub.azure-devices.net", "factory-hub.azure-devices.net"},
		{"Other-Hub.localhost", "other-hub.localhost"},
		{"", "localhost"},
		{"bad_name", "localhost"},
	} {
		t.Run(tc.sni, func(t *testing.T) {
			c, err := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: tc.sni})
			if err != nil {
				t.Fatal(err)
			}
			leaf, err := x509.ParseCertificate(c.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: tc.verifyAs, Roots: ca.CertPool()}); err != nil {
				t.Fatalf("certificate for SNI %q: %v", tc.sni, err)
			}
			again, _ := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: tc.sni})
			if again != c {
				t.Error("the certificate was issued again instead of reused")
			}
		})
	}
}

// TestRegistryUnknownDevice: a device DPS never assigned is one the hub does not know.
func TestRegistryUnknownDevice(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), datadir.StoreFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, err = Registry{Store: st}.Device(t.Context(), "localhost", "nobody")
	if !errors.Is(err, hubserver.ErrDeviceNotFound) {
		t.Fatalf("Device of an unassigned device: %v, want ErrDeviceNotFound", err)
	}
}

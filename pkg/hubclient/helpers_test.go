package hubclient_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/sas"
)

const (
	hubHost   = "oob-test-hub.azure-devices.net"
	otherHub  = "another-hub.azure-devices.net"
	deviceID  = "device-1"
	waitLimit = 20 * time.Second
)

// testHub is an emulated IoT Hub on a loopback port, over TLS with a CA made for the test.
type testHub struct {
	srv  *hubserver.Server
	reg  *hubserver.MemoryRegistry
	addr string
	ca   *tlsca.CA
}

// startHub runs an emulated hub whose certificate names hubHost and otherHub (so that a device
// naming the wrong hub gets past TLS and is refused by the hub itself).
func startHub(t *testing.T) *testHub {
	t.Helper()
	ca, err := tlsca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate(hubHost, otherHub)
	if err != nil {
		t.Fatal(err)
	}
	reg := &hubserver.MemoryRegistry{}
	srv, err := hubserver.New(hubserver.Config{Registry: reg, TLS: tlsca.TLSConfig(cert)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, hubserver.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testHub{srv: srv, reg: reg, addr: ln.Addr().String(), ca: ca}
}

// config is a device configuration that reaches this hub.
func (h *testHub) config(id string) hubclient.Config {
	return hubclient.Config{HubHost: hubHost, DeviceID: id, Address: h.addr, RootCAs: h.ca.CertPool()}
}

// addKeyDevice registers a symmetric-key device and returns its key.
func (h *testHub) addKeyDevice(t *testing.T, id string, twin hubserver.InitialTwin) sas.Key {
	t.Helper()
	key := newKey(t)
	h.reg.Put(hubHost, hubserver.Device{ID: id, Auth: hubserver.Auth{PrimaryKey: key}, InitialTwin: twin})
	return key
}

func newKey(t *testing.T) sas.Key {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return sas.NewKey(b)
}

// selfSigned makes a device certificate as X.509 thumbprint devices use, and its SHA-256
// thumbprint.
func selfSigned(t *testing.T, cn string) (*tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:])
}

func connect(t *testing.T, cfg hubclient.Config) *hubclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, err := hubclient.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

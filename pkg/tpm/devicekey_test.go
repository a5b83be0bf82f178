package tpm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// These tests run the same checks on the simulator (devicekey_sim_test.go) and on swtpm
// (devicekey_swtpm_test.go): what the TPM signs is verified by crypto/ecdsa, x509 and a real
// crypto/tls server that requires a client certificate.

// testDeviceKey checks that the device key signs what Go verifies: digests of each hash, a
// certificate request, and the client's side of TLS 1.2 and 1.3 handshakes.
func testDeviceKey(t *testing.T, dev *TPM) {
	key, err := dev.DeviceKey(ctxT(t))
	if err != nil {
		t.Fatalf("DeviceKey: %v", err)
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("public key %T, want ECDSA P-256", key.Public())
	}
	if hs := persistentHandles(t, dev); !containsHandle(hs, DeviceKeyHandle) {
		t.Errorf("persistent handles %x lack 0x%08x", hs, DeviceKeyHandle)
	}

	t.Run("digests", func(t *testing.T) {
		msg := []byte("the device's certificate request")
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
			hh := h.New()
			hh.Write(msg)
			digest := hh.Sum(nil)
			sig, err := key.Sign(rand.Reader, digest, h)
			if err != nil {
				t.Fatalf("Sign(%v): %v", h, err)
			}
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				t.Errorf("the %v signature does not verify", h)
			}
		}
		sum := sha512.Sum512(msg)
		if _, err := key.Sign(rand.Reader, sum[:32], crypto.SHA512); err == nil {
			t.Error("signed a digest of the wrong size")
		}
		if _, err := key.Sign(rand.Reader, sum[:20], crypto.SHA1); err == nil {
			t.Error("signed a SHA-1 digest")
		}
	})

	t.Run("certificate request", func(t *testing.T) {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "0b7e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"}}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Errorf("the request's signature does not verify: %v", err)
		}
		if csr.SignatureAlgorithm != x509.ECDSAWithSHA256 {
			t.Errorf("signature algorithm %v, want ECDSA with SHA-256", csr.SignatureAlgorithm)
		}
	})

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			rec := &recordingSigner{Signer: key}
			testTLSClientAuth(t, rec, v)
			if len(rec.hashes) != 1 || rec.hashes[0] != crypto.SHA256 {
				t.Errorf("the handshake signed with %v, want one ECDSA SHA-256 signature", rec.hashes)
			}
		})
	}
	checkNothingLoaded(t, dev)
}

// recordingSigner records the hash of each signature asked of its Signer.
type recordingSigner struct {
	crypto.Signer
	hashes []crypto.Hash
}

func (r *recordingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	r.hashes = append(r.hashes, opts.HashFunc())
	return r.Signer.Sign(rand, digest, opts)
}

func containsHandle(hs []uint32, h uint32) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// testTLSClientAuth runs a handshake against a crypto/tls server that requires and verifies a
// client certificate, the client's key being signer, and checks the server saw that certificate.
func testTLSClientAuth(t *testing.T, signer crypto.Signer, version uint16) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	ca := issue(t, caTmpl, caTmpl, caKey.Public(), caKey)
	client := issue(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "device"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, signer.Public(), caKey)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	server := issue(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "server"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}, ca, srvKey.Public(), caKey)
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{server.Raw}, PrivateKey: srvKey}},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   version, MaxVersion: version,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	seen := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			seen <- err
			return
		}
		defer c.Close()
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			seen <- err
			return
		}
		peers := tc.ConnectionState().PeerCertificates
		if len(peers) == 0 || !peers[0].Equal(client) {
			seen <- errors.New("the server did not see the device's certificate")
			return
		}
		_, err = tc.Write([]byte("ok"))
		seen <- err
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{client.Raw}, PrivateKey: signer}},
		RootCAs:      pool,
		ServerName:   "127.0.0.1",
		MinVersion:   version, MaxVersion: version,
	})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("reading from the server: %q, %v", buf, err)
	}
	if err := <-seen; err != nil {
		t.Fatalf("server: %v", err)
	}
	if got := conn.ConnectionState().Version; got != version {
		t.Errorf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(version))
	}
}

func issue(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// samePublic reports whether two device keys are the same key.
func samePublic(a, b *DeviceKey) bool {
	return a.Public().(*ecdsa.PublicKey).Equal(b.Public())
}

// containsAll reports whether s contains every one of subs, ignoring case.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
			return false
		}
	}
	return true
}

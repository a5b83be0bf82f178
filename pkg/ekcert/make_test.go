package ekcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
	"time"

	x509ext "github.com/google/go-attestation/x509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maker is a TPM maker's PKI made for a test: a root, an intermediate, and EK certificates
// issued by the intermediate as TPM makers issue them (TCG subjectAltName, critical; no subject).
type maker struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
}

func newMaker(t testing.TB, name string) *maker {
	t.Helper()
	m := &maker{rootKey: newECKey(t), interKey: newECKey(t)}
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " EK Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	m.root = create(t, rootTmpl, rootTmpl, &m.rootKey.PublicKey, m.rootKey)
	interTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " EK Intermediate CA 01"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		IssuingCertificateURL: []string{"https://pki.example.test/" + name + "-root.crt"},
	}
	m.inter = create(t, interTmpl, m.root, &m.interKey.PublicKey, m.rootKey)
	return m
}

// ekOpts shape an EK certificate.
type ekOpts struct {
	manufacturer, model, firmware string
	serial                        []byte // INTEGER content octets as issued; nil for 3
	oaep                          bool   // the RSA key typed id-RSAES-OAEP
}

// issue returns the DER of an EK certificate for pub.
func (m *maker) issue(t testing.TB, pub crypto.PublicKey, o ekOpts) []byte {
	t.Helper()
	if o.manufacturer == "" {
		o.manufacturer, o.model, o.firmware = "id:53544D20", "ST33HTPHAHD4", "id:00010102"
	}
	san, err := x509ext.MarshalSubjectAltName(&x509ext.SubjectAltName{DirectoryNames: []pkix.Name{{
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidTPMManufacturer, Value: o.manufacturer},
			{Type: oidTPMModel, Value: o.model},
			{Type: oidTPMVersion, Value: o.firmware},
		},
	}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.KeyUsageKeyEncipherment
	if _, ok := pub.(*ecdsa.PublicKey); ok {
		usage = x509.KeyUsageKeyAgreement
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		BasicConstraintsValid: true, KeyUsage: usage,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{{2, 23, 133, 8, 1}},
		ExtraExtensions:       []pkix.Extension{san},
		IssuingCertificateURL: []string{"https://pki.example.test/intermediate-01.crt"},
	}
	der := create(t, tmpl, m.inter, pub, m.interKey).Raw
	if o.serial == nil && !o.oaep {
		return der
	}
	return resign(t, der, m.interKey, func(fields [][]byte) {
		if o.serial != nil {
			fields[1] = element(t, cbasn1.INTEGER, o.serial)
		}
		if o.oaep {
			fields[6] = oaepSPKI(t, pub.(*rsa.PublicKey))
		}
	})
}

func create(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
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

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// resign changes the TBSCertificate's fields (version, serial, signature, issuer, validity,
// subject, SPKI, extensions) and signs it again with the issuer's key, as a maker whose
// software wrote those bytes would have.
func resign(t testing.TB, der []byte, key *ecdsa.PrivateKey, change func([][]byte)) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var cert, tbs, body cryptobyte.String
	var sigAlg cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!cert.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) {
		t.Fatal("resign: not a certificate")
	}
	body = tbs
	var fields [][]byte
	for !body.Empty() {
		var f cryptobyte.String
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&f, &tag) {
			t.Fatal("resign: bad TBS field")
		}
		fields = append(fields, f)
	}
	change(fields)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, f := range fields {
			b.AddBytes(f)
		}
	})
	newTBS := b.BytesOrPanic()
	sum := sha256.Sum256(newTBS)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(newTBS)
		b.AddBytes(sigAlg)
		b.AddASN1BitString(sig)
	})
	return out.BytesOrPanic()
}

func element(t testing.TB, tag cbasn1.Tag, content []byte) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	return b.BytesOrPanic()
}

// oaepSPKI is the SubjectPublicKeyInfo early EK certificates carry: id-RSAES-OAEP with
// pSourceFunc id-pSpecified "TCPA" (the TPM's OAEP label), the key as PKCS #1.
func oaepSPKI(t testing.TB, pub *rsa.PublicKey) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidRSAESOAEP)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 9})
						b.AddASN1OctetString([]byte("TCPA"))
					})
				})
			})
		})
		b.AddASN1BitString(x509.MarshalPKCS1PublicKey(pub))
	})
	return b.BytesOrPanic()
}

// rsaKey is one RSA-2048 key shared by the tests (generating one takes a while).
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

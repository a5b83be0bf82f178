package ekcert

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// oidRSAESOAEP is id-RSAES-OAEP (RFC 4055), the key type of early TPM 2.0 EK certificates
// (Infineon's among them): an RSA key said to be for OAEP encryption only, which crypto/x509
// leaves unparsed.
var oidRSAESOAEP = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}

// oaepKey returns the RSA key of a SubjectPublicKeyInfo whose algorithm is id-RSAES-OAEP; any
// other algorithm crypto/x509 could not parse is an error naming it.
func oaepKey(spki []byte) (*rsa.PublicKey, error) {
	in := cryptobyte.String(spki)
	var info, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var bits asn1.BitString
	if !in.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) || !info.ReadASN1BitString(&bits) {
		return nil, errors.New("malformed subject public key info")
	}
	if !oid.Equal(oidRSAESOAEP) {
		return nil, fmt.Errorf("public key algorithm %s is neither RSA nor ECC, the key types of a TPM's EK", oid)
	}
	if bits.BitLength%8 != 0 {
		return nil, errors.New("id-RSAES-OAEP key is not a whole number of bytes")
	}
	key, err := x509.ParsePKCS1PublicKey(bits.Bytes)
	if err != nil {
		return nil, fmt.Errorf("id-RSAES-OAEP key: %v", err)
	}
	return key, nil
}

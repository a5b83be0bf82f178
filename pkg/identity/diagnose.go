package identity

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// diagnoseEK explains why b, whose first two bytes are not the big-endian size of the rest, is
// not a TPM2B_PUBLIC. It recognises the formats people export an EK in by mistake, which DPS
// rejects with "Endorsement key is invalid" (400004) and no further explanation.
func diagnoseEK(b []byte) error {
	switch {
	case bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN")):
		return fmt.Errorf("%w: it is PEM text (from `tpm2_readpublic -f pem` or openssl), which drops the TPM attributes and policy DPS needs; %s",
			ErrBadEK, exportHint)
	case isDERPublicKey(b):
		return fmt.Errorf("%w: it is a DER SubjectPublicKeyInfo (from `tpm2_readpublic -f der` or openssl), which drops the TPM attributes and policy DPS needs; %s",
			ErrBadEK, exportHint)
	case isEncodedEK(b, hexText):
		return fmt.Errorf("%w: it is hex text; DPS and identity codes take base64: convert it with `xxd -r -p ek.hex | base64 -w0`", ErrBadEK)
	case isEncodedEK(b, base64Text):
		return fmt.Errorf("%w: it is base64 text where the binary TPM2B_PUBLIC was expected; decode it first (`base64 -d`)", ErrBadEK)
	case isRawTPMTPublic(b):
		return fmt.Errorf("%w: it is a raw TPMT_PUBLIC without the 2-byte size prefix of a TPM2B_PUBLIC; %s", ErrBadEK, exportHint)
	case isTPM2Tools3(b):
		return fmt.Errorf("%w: it looks like tpm2-tools 3.x output (a little-endian C structure dump, not the TPM wire format); with tpm2-tools 4 or later, %s",
			ErrBadEK, exportHint)
	}
	size := int(binary.BigEndian.Uint16(b))
	if size > len(b)-2 {
		return fmt.Errorf("%w: the size prefix announces %d bytes but only %d follow: the key is truncated", ErrBadEK, size, len(b)-2)
	}
	return fmt.Errorf("%w: %d bytes follow a size prefix that announces %d: trailing data after the key", ErrBadEK, len(b)-2, size)
}

func isDERPublicKey(b []byte) bool {
	_, err := x509.ParsePKIXPublicKey(b)
	return err == nil
}

// isRawTPMTPublic reports whether b is exactly one TPMT_PUBLIC of an RSA or ECC key.
func isRawTPMTPublic(b []byte) bool {
	if len(b) < 4 || !(b[0] == 0 && (b[1] == 0x01 || b[1] == 0x23)) {
		return false
	}
	_, err := unmarshalPublic(b)
	return err == nil
}

// isTPM2Tools3 recognises tpm2-tools 3.x's output: it wrote the in-memory TPM2B_PUBLIC C
// structure, so integers are little-endian and the size is followed by the key type and the
// name algorithm as little-endian algorithm IDs. In a real TPM2B_PUBLIC those two fields are
// big-endian, so their high bytes would be zero instead.
func isTPM2Tools3(b []byte) bool {
	if len(b) < 8 || b[3] != 0 || b[5] != 0 {
		return false
	}
	keyType, nameAlg := b[2], b[4]
	knownType := keyType == 0x01 || keyType == 0x23 || keyType == 0x08 || keyType == 0x25
	knownHash := nameAlg == 0x04 || nameAlg == 0x0B || nameAlg == 0x0C || nameAlg == 0x0D || nameAlg == 0x12
	return knownType && knownHash
}

type textEncoding int

const (
	hexText textEncoding = iota
	base64Text
)

// isEncodedEK reports whether b is text in encoding enc whose decoded bytes are a valid EK, or
// at least start like one (a TPM2B_PUBLIC or TPMT_PUBLIC of an RSA key), so that a damaged
// key still gets the hint about its encoding.
func isEncodedEK(b []byte, enc textEncoding) bool {
	s := string(bytes.TrimSpace(b))
	if len(s) < 8 {
		return false
	}
	var raw []byte
	var err error
	switch enc {
	case hexText:
		raw, err = hex.DecodeString(s)
	case base64Text:
		raw, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(raw) < 4 {
		return false
	}
	if _, err := checkTPM2BPublic(raw); err == nil {
		return true
	}
	return bytes.HasPrefix(raw[2:], []byte{0x00, 0x01}) || bytes.HasPrefix(raw, []byte{0x00, 0x01, 0x00, 0x0B})
}

package ekcert

import (
	"errors"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// fixedDER is a certificate whose serial number Go can parse.
type fixedDER struct {
	der    []byte   // the certificate with a minimal positive serial, or the input unchanged
	serial *big.Int // the serial as issued, two's complement; set when quirk is
	quirk  string   // what was wrong with the serial; empty when der is the input
}

// fixSerial returns der with its serial number re-encoded as a minimal positive INTEGER when it
// is negative or not minimally encoded (STMicro and Nuvoton have issued both), which Go's parser
// refuses. It also returns the TBSCertificate as issued, whose bytes the signature covers.
func fixSerial(der []byte) (fixedDER, []byte, error) {
	in := cryptobyte.String(der)
	var cert, tbsElem cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() {
		return fixedDER{}, nil, errors.New("not one DER SEQUENCE")
	}
	if !cert.ReadASN1Element(&tbsElem, cbasn1.SEQUENCE) {
		return fixedDER{}, nil, errors.New("no TBSCertificate")
	}
	tail := []byte(cert)
	tbs := tbsElem
	var body cryptobyte.String
	tbs.ReadASN1(&body, cbasn1.SEQUENCE)
	var version cryptobyte.String
	if body.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		body.ReadASN1Element(&version, cbasn1.Tag(0).Constructed().ContextSpecific())
	}
	var serial cryptobyte.String
	if !body.ReadASN1(&serial, cbasn1.INTEGER) || len(serial) == 0 {
		return fixedDER{}, nil, errors.New("no serial number")
	}
	quirk := serialQuirk(serial)
	if quirk == "" {
		return fixedDER{der: der}, tbsElem, nil
	}
	value := signedInt(serial)
	// Any positive stand-in parses; the magnitude of the bytes keeps it unique per input.
	standIn := new(big.Int).SetBytes(serial).Bytes()
	if len(standIn) == 0 || standIn[0]&0x80 != 0 {
		standIn = append([]byte{0}, standIn...)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(version)
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(standIn) })
			b.AddBytes(body)
		})
		b.AddBytes(tail)
	})
	out, err := b.Bytes()
	if err != nil {
		return fixedDER{}, nil, err
	}
	return fixedDER{der: out, serial: value, quirk: quirk}, tbsElem, nil
}

// serialQuirk says what is wrong with an INTEGER's content octets for an X.509 serial, or "".
func serialQuirk(b []byte) string {
	switch {
	case len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0, len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0:
		return "serial number not minimally encoded"
	case b[0]&0x80 != 0:
		return "negative serial number"
	}
	return ""
}

// signedInt decodes two's complement content octets.
func signedInt(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return v
}

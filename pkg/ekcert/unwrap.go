package ekcert

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// nvCertHeader starts the optional header some manufacturers put before the EK certificate in
// NV (TCG PC Client "certificate with header" format): 0x1001, a zero byte, then a 2-byte
// big-endian length of the certificate that follows.
var nvCertHeader = []byte{0x10, 0x01, 0x00}

// Unwrap returns the DER certificate inside an EK certificate NV index: it removes the
// optional header and the padding after the certificate (NV indices are often defined larger
// than the certificate they hold). Only the DER framing of the outer SEQUENCE is checked: some
// manufacturers' certificates are rejected by strict X.509 parsers, yet they are what the
// manufacturer issued and what a verifier must be shown.
func Unwrap(b []byte) ([]byte, error) {
	if len(b) >= 5 && bytes.Equal(b[:3], nvCertHeader) {
		n := int(binary.BigEndian.Uint16(b[3:5]))
		if n > len(b)-5 {
			return nil, fmt.Errorf("header announces %d bytes, %d follow", n, len(b)-5)
		}
		b = b[5 : 5+n]
	}
	n, err := derLength(b)
	if err != nil {
		return nil, err
	}
	return b[:n], nil
}

// derLength returns the length of the DER SEQUENCE at the start of b, header included.
func derLength(b []byte) (int, error) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, errors.New("not a DER SEQUENCE")
	}
	hdr, n := 2, int(b[1])
	if b[1]&0x80 != 0 {
		octets := int(b[1] & 0x7f)
		// DER length octets: 1 to 4 are plenty for anything an NV index holds, and must be
		// minimal (no leading zero, long form only for lengths of 128 or more).
		if octets == 0 || octets > 4 || len(b) < 2+octets || b[2] == 0 {
			return 0, errors.New("bad DER length")
		}
		n = 0
		for _, o := range b[2 : 2+octets] {
			n = n<<8 | int(o)
		}
		if n < 0x80 {
			return 0, errors.New("non-minimal DER length")
		}
		hdr += octets
	}
	if n > len(b)-hdr {
		return 0, fmt.Errorf("DER SEQUENCE of %d bytes, only %d present", hdr+n, len(b))
	}
	return hdr + n, nil
}

package emulator

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// checkEKStructure is the EK check used when Options.ValidateEK is not set: the bytes must be one
// complete TPM2B_PUBLIC for an RSA or ECC key, size prefix included, with nothing after it. That
// is what the service rejects with 400004 when users paste a raw TPMT_PUBLIC or a tool's other
// output formats.
func checkEKStructure(b []byte) error {
	r := reader{b: b}
	size := r.u16()
	if r.err != nil {
		return errors.New("too short for a TPM2B_PUBLIC")
	}
	if int(size) != len(b)-2 {
		return fmt.Errorf("TPM2B_PUBLIC size prefix says %d bytes, %d follow", size, len(b)-2)
	}
	typ := r.u16()
	r.u16() // nameAlg
	r.u32() // objectAttributes
	r.tpm2b()
	sym := r.u16()
	if sym != 0x0010 { // TPM_ALG_NULL
		r.u16()
		r.u16()
	}
	if scheme := r.u16(); scheme != 0x0010 {
		r.u16()
	}
	switch typ {
	case 0x0001: // RSA
		bits := r.u16()
		r.u32()
		n := r.tpm2b()
		if r.err == nil && (bits == 0 || len(n) != int(bits)/8) {
			return fmt.Errorf("RSA modulus is %d bytes for a %d-bit key", len(n), bits)
		}
	case 0x0023: // ECC
		r.u16() // curve
		if kdf := r.u16(); kdf != 0x0010 {
			r.u16()
		}
		x, y := r.tpm2b(), r.tpm2b()
		if r.err == nil && (len(x) == 0 || len(y) == 0) {
			return errors.New("ECC point is empty")
		}
	default:
		return fmt.Errorf("key type 0x%04x is neither RSA nor ECC", typ)
	}
	if r.err != nil {
		return errors.New("TPMT_PUBLIC is truncated")
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d bytes follow the TPMT_PUBLIC", len(r.b))
	}
	return nil
}

// reader reads big-endian TPM fields, remembering the first overrun.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.err = errors.New("short")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) tpm2b() []byte { return r.take(int(r.u16())) }

package identity

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

func TestParseEKAccepts(t *testing.T) {
	tests := []struct {
		name     string
		ek       []byte
		standard bool
		exponent uint32
	}{
		{"standard template", standardTestEK(t), true, 0},
		{"SRK template in the endorsement hierarchy", vectorEK(t, "non-standard-ek"), false, 0},
		{"explicit exponent", ekWith(t, func(_ *tpm2.TPMTPublic, p *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			p.Exponent = 65537
		}), false, 65537},
		{"userWithAuth set", ekWith(t, func(pub *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			pub.ObjectAttributes.UserWithAuth = true
		}), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ek, err := ParseEK(tt.ek)
			if err != nil {
				t.Fatalf("ParseEK: %v", err)
			}
			if ek.Standard != tt.standard {
				t.Errorf("Standard = %v, want %v", ek.Standard, tt.standard)
			}
			if ek.Exponent != tt.exponent {
				t.Errorf("Exponent = %d, want %d", ek.Exponent, tt.exponent)
			}
			if !bytes.Equal(ek.TPM2BPublic, tt.ek) {
				t.Error("TPM2BPublic differs from the input")
			}
			if len(ek.Modulus) != ModulusLen {
				t.Errorf("modulus is %d bytes", len(ek.Modulus))
			}
			if pk := ek.PublicKey(); pk.N.BitLen() != 2048 || pk.E != 65537 {
				t.Errorf("PublicKey: %d bits, e=%d", pk.N.BitLen(), pk.E)
			}
			if ek.RegistrationID() != DeriveRegistrationID(tt.ek) {
				t.Error("RegistrationID is not the derived one")
			}
			if err := ValidateEK(tt.ek); err != nil {
				t.Errorf("ValidateEK: %v", err)
			}
		})
	}
}

// tpm2Tools3 imitates tpm2-tools 3.x's `tpm2_readpublic -o`: the TPM2B_PUBLIC C structure as it
// sits in memory on a little-endian machine, unions padded to their largest member.
func tpm2Tools3(ek []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint16(b, uint16(len(ek)-2))
	b = binary.LittleEndian.AppendUint16(b, 0x0001) // type RSA
	b = binary.LittleEndian.AppendUint16(b, 0x000B) // nameAlg SHA-256
	b = binary.LittleEndian.AppendUint32(b, 0x000300B2)
	b = binary.LittleEndian.AppendUint16(b, 32)
	b = append(b, ek[12:44]...)
	b = append(b, make([]byte, 64-32)...) // authPolicy buffer is sizeof(TPMU_HA)
	b = append(b, make([]byte, 24)...)    // parameters
	b = binary.LittleEndian.AppendUint16(b, 256)
	b = append(b, ek[len(ek)-256:]...)
	return append(b, make([]byte, 512-256)...)
}

func TestParseEKRejects(t *testing.T) {
	ek := standardTestEK(t)
	parsed, err := ParseEK(ek)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(parsed.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	withSize := func(body []byte) []byte {
		return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
	}
	mutated := func(f func(*tpm2.TPMTPublic, *tpm2.TPMSRSAParms, *tpm2.TPM2BPublicKeyRSA)) []byte {
		return ekWith(t, f)
	}

	tests := []struct {
		name string
		in   []byte
		want string // a phrase the message must hold: the diagnosis the user acts on
	}{
		{"empty", nil, "too short"},
		{"one byte", []byte{1}, "too short"},
		{"truncated", ek[:len(ek)-1], "truncated"},
		{"trailing byte", append(bytes.Clone(ek), 0), "trailing data"},
		{"trailing byte inside the size", withSize(append(bytes.Clone(ek[2:]), 0)), "trailing data"},
		{"garbage public area", withSize(bytes.Repeat([]byte{0xA5}, 40)), "not a TPM2B_PUBLIC"},
		{"raw TPMT_PUBLIC", ek[2:], "raw TPMT_PUBLIC without the 2-byte size prefix"},
		{"DER SubjectPublicKeyInfo", der, "DER SubjectPublicKeyInfo"},
		{"PEM", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "PEM"},
		{"hex text", []byte(hex.EncodeToString(ek) + "\n"), "hex text"},
		{"hex text of a damaged key", []byte(hex.EncodeToString(ek[:200])), "hex text"},
		{"base64 text", []byte(base64.StdEncoding.EncodeToString(ek)), "base64 text"},
		{"tpm2-tools 3.x", tpm2Tools3(ek), "tpm2-tools 3.x"},
		{"ECC EK", eccTestEK(t), "ECC"},
		{"SHA-1 name algorithm", mutated(func(p *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			p.NameAlg = tpm2.TPMAlgSHA1
		}), "SHA-256"},
		{"signing key", mutated(func(p *tpm2.TPMTPublic, r *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			p.ObjectAttributes.Decrypt, p.ObjectAttributes.SignEncrypt = false, true
		}), "not a restricted decryption key"},
		{"unrestricted", mutated(func(p *tpm2.TPMTPublic, r *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			p.ObjectAttributes.Restricted = false
		}), "not a restricted decryption key"},
		// tpm2_createprimary -C e -a 'sensitivedataorigin|userwithauth|restricted|decrypt':
		// attributes 0x00030060, a key that can be duplicated out of its TPM.
		{"duplicable (fixedTPM and fixedParent clear)", mutated(func(p *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			p.ObjectAttributes = tpm2.TPMAObject{SensitiveDataOrigin: true, UserWithAuth: true, Restricted: true, Decrypt: true}
		}), "a key that can leave its TPM or was made outside it (attributes 0x00030060"},
		{"imported (sensitiveDataOrigin clear)", mutated(func(p *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			p.ObjectAttributes.SensitiveDataOrigin = false
		}), "sensitiveDataOrigin must all be set"},
		{"RSA-3072", mutated(func(_ *tpm2.TPMTPublic, r *tpm2.TPMSRSAParms, n *tpm2.TPM2BPublicKeyRSA) {
			r.KeyBits = 3072
			n.Buffer = append(n.Buffer, make([]byte, 128)...)
		}), "RSA-3072"},
		{"no symmetric algorithm", mutated(func(_ *tpm2.TPMTPublic, r *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			r.Symmetric = tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull}
		}), "no symmetric"},
		{"RSAES scheme", mutated(func(_ *tpm2.TPMTPublic, r *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			r.Scheme = tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAES, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAES, &tpm2.TPMSEncSchemeRSAES{})}
		}), "scheme"},
		{"even exponent", mutated(func(_ *tpm2.TPMTPublic, r *tpm2.TPMSRSAParms, _ *tpm2.TPM2BPublicKeyRSA) {
			r.Exponent = 4
		}), "exponent 4"},
		{"short modulus", mutated(func(_ *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, n *tpm2.TPM2BPublicKeyRSA) {
			n.Buffer = n.Buffer[1:]
		}), "255-byte modulus"},
		{"empty modulus (a template, not a key)", mutated(func(_ *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, n *tpm2.TPM2BPublicKeyRSA) {
			n.Buffer = nil
		}), "0-byte modulus"},
		{"even modulus", mutated(func(_ *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, n *tpm2.TPM2BPublicKeyRSA) {
			n.Buffer[255] &^= 1
		}), "not a 2048-bit RSA modulus"},
		{"modulus without its top bit", mutated(func(_ *tpm2.TPMTPublic, _ *tpm2.TPMSRSAParms, n *tpm2.TPM2BPublicKeyRSA) {
			n.Buffer[0] = 0x7F
		}), "not a 2048-bit RSA modulus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEK(tt.in)
			if !errors.Is(err, ErrBadEK) {
				t.Fatalf("ParseEK = %v, want ErrBadEK", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "identity: ") {
				t.Errorf("ParseEK = %q, want a message with %q", err, tt.want)
			}
			if ValidateEK(tt.in) == nil {
				t.Error("ValidateEK accepted it")
			}
		})
	}
}

// TestStandardTemplate checks the template spelled out in template.go against go-tpm's copy of
// the TCG default and against the documented attribute and policy values: a v1 code's M form
// stands for exactly these bytes.
func TestStandardTemplate(t *testing.T) {
	ek := standardTestEK(t)
	n := ek[len(ek)-ModulusLen:]
	ref := tpm2.RSAEKTemplate
	ref.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: n})
	if got, want := StandardEK(n), tpm2.Marshal(tpm2.New2B(ref)); !bytes.Equal(got, want) {
		t.Fatalf("StandardEK differs from go-tpm's RSAEKTemplate:\n%x\n%x", got, want)
	}
	got := StandardEK(n)
	if !bytes.Equal(got, ek) {
		t.Error("the simulator's EK is not StandardEK(its modulus)")
	}
	if a := binary.BigEndian.Uint32(got[6:10]); a != 0x000300B2 {
		t.Errorf("attributes 0x%08X, want 0x000300B2", a)
	}
	if p := hex.EncodeToString(got[12:44]); p != "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa" {
		t.Errorf("authPolicy %s", p)
	}
	if len(got) != 316 || !strings.HasPrefix(base64.StdEncoding.EncodeToString(got), "AToAAQAL") {
		t.Errorf("standard EK is %d bytes, want 316 starting AToAAQAL", len(got))
	}
}

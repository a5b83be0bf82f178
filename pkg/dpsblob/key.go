package dpsblob

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// KeyAttributes are the object attributes of the HMAC key DPS sends: sign, userWithAuth and
// noDA. Neither fixedTPM nor fixedParent is set, or the key could not have been duplicated.
const KeyAttributes uint32 = 0x00040440

// keyAttributes is KeyAttributes as go-tpm's bit field.
var keyAttributes = tpm2.TPMAObject{SignEncrypt: true, UserWithAuth: true, NoDA: true}

// duplicatePolicy is the key's authPolicy, PolicyCommandCode(TPM_CC_Duplicate): only its
// duplication needs a policy, and nobody holds a session that satisfies it on the device.
var duplicatePolicy = func() []byte {
	pc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		panic(err)
	}
	if err := (tpm2.PolicyCommandCode{Code: tpm2.TPMCCDuplicate}).Update(pc); err != nil {
		panic(err)
	}
	return pc.Hash().Digest
}()

// hmacScheme is the key's signing scheme, HMAC with SHA-256.
func hmacScheme() tpm2.TPMTKeyedHashScheme {
	return tpm2.TPMTKeyedHashScheme{
		Scheme:  tpm2.TPMAlgHMAC,
		Details: tpm2.NewTPMUSchemeKeyedHash(tpm2.TPMAlgHMAC, &tpm2.TPMSSchemeHMAC{HashAlg: tpm2.TPMAlgSHA256}),
	}
}

// keyPublic returns the public area of the HMAC key with sensitive value key and obfuscation
// value seed. Its unique field binds the two: SHA-256(seed ‖ key), which the TPM recomputes on
// import.
func keyPublic(key, seed []byte) tpm2.TPMTPublic {
	unique := sha256.Sum256(append(append([]byte{}, seed...), key...))
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgKeyedHash,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: keyAttributes,
		AuthPolicy:       tpm2.TPM2BDigest{Buffer: duplicatePolicy},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash,
			&tpm2.TPMSKeyedHashParms{Scheme: hmacScheme()}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BDigest{Buffer: unique[:]}),
	}
}

// checkKey returns an error saying how pub differs from the HMAC key DPS sends. The authPolicy is
// not checked: it only governs duplicating the key again, which the device never does.
func checkKey(pub *tpm2.TPMTPublic) error {
	if pub.Type != tpm2.TPMAlgKeyedHash {
		return fmt.Errorf("type 0x%04x, want KEYEDHASH (0x%04x)", uint16(pub.Type), uint16(tpm2.TPMAlgKeyedHash))
	}
	if pub.NameAlg != tpm2.TPMAlgSHA256 {
		return fmt.Errorf("nameAlg 0x%04x, want SHA-256 (0x%04x)", uint16(pub.NameAlg), uint16(tpm2.TPMAlgSHA256))
	}
	if a := binary.BigEndian.Uint32(tpm2.Marshal(pub.ObjectAttributes)); a != KeyAttributes {
		return fmt.Errorf("attributes 0x%08x, want sign|userWithAuth|noDA (0x%08x)", a, KeyAttributes)
	}
	parms, err := pub.Parameters.KeyedHashDetail()
	if err != nil {
		return fmt.Errorf("unreadable parameters: %v", err)
	}
	if parms.Scheme.Scheme != tpm2.TPMAlgHMAC {
		return fmt.Errorf("scheme 0x%04x, want HMAC (0x%04x)", uint16(parms.Scheme.Scheme), uint16(tpm2.TPMAlgHMAC))
	}
	h, err := parms.Scheme.Details.HMAC()
	if err != nil {
		return fmt.Errorf("unreadable HMAC scheme: %v", err)
	}
	if h.HashAlg != tpm2.TPMAlgSHA256 {
		return fmt.Errorf("HMAC hash 0x%04x, want SHA-256 (0x%04x)", uint16(h.HashAlg), uint16(tpm2.TPMAlgSHA256))
	}
	unique, err := pub.Unique.KeyedHash()
	if err != nil {
		return fmt.Errorf("unreadable unique field: %v", err)
	}
	if len(unique.Buffer) != digestSize {
		return fmt.Errorf("unique field of %d bytes, want %d", len(unique.Buffer), digestSize)
	}
	return nil
}

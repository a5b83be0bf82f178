package tpm

import (
	"github.com/google/go-tpm/tpm2"

	"github.com/oobtpm/oob/pkg/identity"
)

// The standard places of the identity in a TPM (TCG EK Credential Profile and Provisioning
// Guidance), which DPS clients and tpm2-tools also use.
const (
	// EKHandle is the persistent handle of the RSA-2048 endorsement key.
	EKHandle uint32 = 0x81010001
	// SRKHandle is the persistent handle of the RSA-2048 storage root key.
	SRKHandle uint32 = 0x81000001
	// EKCertIndex is the NV index of the RSA EK certificate (DER).
	EKCertIndex uint32 = 0x01C00002
	// DPSKeyHandle is the persistent handle of the HMAC key imported from DPS, where Microsoft's
	// device SDKs keep it too.
	DPSKeyHandle uint32 = 0x81000100
)

// aes128CFB is the symmetric algorithm of both storage keys, as the TCG templates require.
func aes128CFB() tpm2.TPMTSymDefObject {
	return tpm2.TPMTSymDefObject{
		Algorithm: tpm2.TPMAlgAES,
		KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(128)),
		Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
	}
}

// ekTemplate returns the TCG EK Credential Profile template L-1 (RSA-2048, attributes
// 0x000300B2). Its unique field is 256 zero bytes rather than empty: the manufacturer's EK
// certificate is issued for the key L-1 yields, and the two choices give different keys, so
// only L-1 recreates the certified EK on a TPM that lost its persistent copy.
func ekTemplate() tpm2.TPMTPublic { return identity.StandardEKTemplate(make([]byte, 256)) }

// srkTemplate returns the TCG Provisioning Guidance RSA-2048 SRK template (attributes
// 0x00030472): usable with an empty password (userWithAuth) and exempt from dictionary-attack
// counting (noDA), since it only protects keys that carry their own authorization. Its unique
// field is 256 zero bytes, as in go-tpm's reference template.
func srkTemplate() tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgRSA,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:            true,
			FixedParent:         true,
			SensitiveDataOrigin: true,
			UserWithAuth:        true,
			NoDA:                true,
			Restricted:          true,
			Decrypt:             true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: aes128CFB(),
			Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			KeyBits:   2048,
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: make([]byte, 256)}),
	}
}

// rsa2048Parms are the parameters TPM2_TestParms checks before we ask the TPM for an RSA key.
func rsa2048Parms() tpm2.TPMTPublicParms {
	return tpm2.TPMTPublicParms{
		Type: tpm2.TPMAlgRSA,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: aes128CFB(),
			Scheme:    tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			KeyBits:   2048,
		}),
	}
}

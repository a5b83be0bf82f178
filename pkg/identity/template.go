package identity

import (
	"github.com/google/go-tpm/tpm2"
)

// ekPolicy is the TCG default EK authPolicy, PolicySecret(TPM_RH_ENDORSEMENT).
var ekPolicy = [32]byte{
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
	0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
}

// StandardEK returns the TPM2B_PUBLIC of the EK a TPM makes from the TCG default RSA-2048 EK
// template (TCG EK Credential Profile, template L-1) when it yields this modulus. Every other
// field of such a key is fixed, which is why a v1 code carries only the modulus.
func StandardEK(modulus []byte) []byte {
	return tpm2.Marshal(tpm2.New2B(StandardEKTemplate(modulus)))
}

// StandardEKTemplate is the TCG default RSA-2048 EK template (EK Credential Profile, L-1) with
// unique as its RSA unique field: 256 zero bytes to ask a TPM for its EK, or a modulus to
// describe the EK it made.
//
// The template is spelled out here rather than taken from go-tpm so that the bytes a v1 code
// stands for cannot change under us with a dependency update; a test checks the two agree.
func StandardEKTemplate(unique []byte) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgRSA,
		NameAlg: tpm2.TPMAlgSHA256,
		// 0x000300B2: fixedTPM, fixedParent, sensitiveDataOrigin, adminWithPolicy,
		// restricted, decrypt.
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:            true,
			FixedParent:         true,
			SensitiveDataOrigin: true,
			AdminWithPolicy:     true,
			Restricted:          true,
			Decrypt:             true,
		},
		AuthPolicy: tpm2.TPM2BDigest{Buffer: ekPolicy[:]},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Symmetric: tpm2.TPMTSymDefObject{
				Algorithm: tpm2.TPMAlgAES,
				KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(128)),
				Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
			},
			Scheme:   tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			KeyBits:  2048,
			Exponent: 0,
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: unique}),
	}
}

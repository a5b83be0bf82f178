package tpm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// DeviceKeyHandle is the persistent handle of the device's ECDSA P-256 key, the key its factory
// X.509 certificate certifies (`oob-agent certify`). It sits next to DPSKeyHandle in the owner's
// range; nothing standard claims it.
const DeviceKeyHandle uint32 = 0x81000101

// signTimeout bounds one signature made through crypto.Signer, which carries no context.
const signTimeout = 30 * time.Second

// deviceKey is the ECDSA P-256 signing key at DeviceKeyHandle: a primary key of the owner
// hierarchy, so that the TPM alone holds its private part (fixedTPM, fixedParent: it can never
// be duplicated out), usable with an empty password and exempt from dictionary-attack counting.
var deviceKey = primaryKey{
	what:      "device key",
	handle:    tpm2.TPMHandle(DeviceKeyHandle),
	hierarchy: HierarchyOwner,
	template:  deviceKeyTemplate,
	problem:   deviceKeyProblem,
	parms: func() tpm2.TPMTPublicParms {
		t := deviceKeyTemplate()
		return tpm2.TPMTPublicParms{Type: t.Type, Parameters: t.Parameters}
	},
	unsupportedErr: func(cause error) *Error {
		return newError(ErrP256Unsupported, cause, "this TPM cannot create ECDSA NIST P-256 keys: "+
			"keep the device key in a file instead (oob-agent certify --key file)")
	},
	wrongKey: func(problem string) *Error {
		return newError(ErrDeviceKeyHandleTaken, nil, "0x%08x, where the device key belongs, holds %s, "+
			"not the agent's ECDSA P-256 signing key: another program uses that handle; if nothing needs "+
			"that object, remove it (tpm2_evictcontrol -C o -c 0x%08x) and run again",
			DeviceKeyHandle, problem, DeviceKeyHandle)
	},
}

// deviceKeyTemplate returns the device key's template: ECDSA on NIST P-256, unrestricted sign
// only, with a null scheme so that each signature names its hash (TLS may ask for SHA-384).
func deviceKeyTemplate() tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgECC,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:            true,
			FixedParent:         true,
			SensitiveDataOrigin: true,
			UserWithAuth:        true,
			NoDA:                true,
			SignEncrypt:         true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme:    tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
			CurveID:   tpm2.TPMECCNistP256,
			KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
			Y: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
		}),
	}
}

// deviceKeyProblem returns "" when pub is a key this package can sign with as the device key:
// a non-duplicable, unrestricted ECDSA P-256 signing key with a null scheme.
func deviceKeyProblem(pub *tpm2.TPMTPublic) string {
	if pub.Type != tpm2.TPMAlgECC {
		return objectKind(pub)
	}
	ecc, err := pub.Parameters.ECCDetail()
	if err != nil {
		return "an ECC key with unreadable parameters"
	}
	if ecc.CurveID != tpm2.TPMECCNistP256 {
		return "an ECC key (" + curveName(ecc.CurveID) + ")"
	}
	a := pub.ObjectAttributes
	switch {
	case !a.SignEncrypt || a.Restricted || a.Decrypt:
		return "a P-256 key that is not an unrestricted signing key"
	case !a.FixedTPM || !a.FixedParent:
		return "a P-256 key that may leave the TPM"
	case ecc.Scheme.Scheme != tpm2.TPMAlgNull:
		return "a P-256 key bound to one signing scheme"
	}
	return ""
}

// DeviceKey is the device's ECDSA P-256 key inside the TPM, as a crypto.Signer: its private part
// never leaves the TPM, and it serves as a TLS client certificate's key
// (tls.Certificate{PrivateKey: key}) and to sign a certificate request. The TPM must stay open
// while it is used.
type DeviceKey struct {
	t       *TPM
	pub     *ecdsa.PublicKey
	name    tpm2.TPM2BName
	created bool
}

// DeviceKey returns the key at DeviceKeyHandle, created from its template in the owner hierarchy
// and persisted there when absent (the owner hierarchy's password is needed then). The same key
// is returned on every later call, across reboots. Another kind of object at the handle is
// ErrDeviceKeyHandleTaken, and is left alone.
func (t *TPM) DeviceKey(ctx context.Context) (*DeviceKey, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, pub, created, err := t.readOrCreatePublic(ctx, deviceKey)
	if err != nil {
		return nil, err
	}
	ecc, err := pub.Parameters.ECCDetail()
	if err != nil {
		return nil, malformed(err, "the device key's parameters")
	}
	point, err := pub.Unique.ECC()
	if err != nil {
		return nil, malformed(err, "the device key's public point")
	}
	ecPub, err := tpm2.ECDSAPub(ecc, point)
	if err != nil {
		return nil, malformed(err, "the device key's public point")
	}
	name, err := tpm2.ObjectName(pub)
	if err != nil {
		return nil, malformed(err, "the device key's name")
	}
	return &DeviceKey{t: t, pub: ecPub, name: *name, created: created}, nil
}

// Public returns the key's public half, an *ecdsa.PublicKey.
func (k *DeviceKey) Public() crypto.PublicKey { return k.pub }

// Created reports whether the key was created by the DeviceKey call that returned it, rather
// than found in the TPM.
func (k *DeviceKey) Created() bool { return k.created }

// Sign signs digest, a hash made with opts.HashFunc() (SHA-256, SHA-384 or SHA-512), inside the
// TPM, and returns the ASN.1 DER ECDSA signature crypto/ecdsa and crypto/tls expect. The random
// source is not used: the TPM makes its own nonce. It gives up after 30 seconds; SignContext
// takes a context instead.
func (k *DeviceKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	return k.SignContext(ctx, digest, opts)
}

// SignContext is Sign bounded by ctx.
func (k *DeviceKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	var alg tpm2.TPMIAlgHash
	switch h := opts.HashFunc(); h {
	case crypto.SHA256:
		alg = tpm2.TPMAlgSHA256
	case crypto.SHA384:
		alg = tpm2.TPMAlgSHA384
	case crypto.SHA512:
		alg = tpm2.TPMAlgSHA512
	default:
		return nil, fmt.Errorf("tpm: the device key signs SHA-256, SHA-384 or SHA-512 digests, not %v", h)
	}
	if len(digest) != opts.HashFunc().Size() {
		return nil, fmt.Errorf("tpm: a %v digest is %d bytes, got %d", opts.HashFunc(), opts.HashFunc().Size(), len(digest))
	}
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	rsp, err := run(ctx, k.t, tpm2.Sign{
		KeyHandle: tpm2.AuthHandle{Handle: tpm2.TPMHandle(DeviceKeyHandle), Name: k.name, Auth: tpm2.PasswordAuth(nil)},
		Digest:    tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: alg}),
		},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
	})
	if err != nil {
		return nil, k.t.classify(fmt.Sprintf("signing with the device key at 0x%08x", DeviceKeyHandle), "", err)
	}
	sig, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, malformed(err, "the device key's signature")
	}
	return asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig.SignatureR.Buffer),
		new(big.Int).SetBytes(sig.SignatureS.Buffer),
	})
}

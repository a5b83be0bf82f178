package tpm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-tpm/tpm2"

	"github.com/oobtpm/oob/pkg/dpsblob"
)

// ImportDPSKey imports the HMAC key in the authenticationKey blob DPS sent (base64-decoded) and
// persists it at DPSKeyHandle, replacing the key a previous registration left there. The EK
// recovers the blob's credential (authorized by the endorsement hierarchy), which unlocks the key
// duplicated to the SRK. A blob that is malformed (ErrBadBlob) or that the TPM refuses
// (ErrBlobNotForThisTPM) leaves the TPM's persistent objects as they were: the old key is removed
// only once the new one is loaded.
func (t *TPM) ImportDPSKey(ctx context.Context, blob []byte) error {
	b, err := dpsblob.Parse(blob)
	if err != nil {
		return newError(ErrBadBlob, err, "the authenticationKey from DPS is malformed, so nothing was "+
			"imported: check that it is passed on base64-decoded and whole")
	}
	t.mu.Lock()
	defer t.mu.Unlock()

	ek, err := t.namedKey(ctx, ekKey)
	if err != nil {
		return err
	}
	srk, err := t.namedKey(ctx, srkKey)
	if err != nil {
		return err
	}
	innerKey, err := t.activateCredential(ctx, ek, srk, b)
	if err != nil {
		return err
	}
	imported, err := run(ctx, t, tpm2.Import{
		ParentHandle:  tpm2.AuthHandle{Handle: srk.Handle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
		EncryptionKey: tpm2.TPM2BData{Buffer: innerKey},
		ObjectPublic:  tpm2.New2B(b.Public),
		Duplicate:     tpm2.TPM2BPrivate{Buffer: b.Duplicate},
		InSymSeed:     tpm2.TPM2BEncryptedSecret{Buffer: b.DuplicateSeed},
		Symmetric: tpm2.TPMTSymDef{
			Algorithm: tpm2.TPMAlgAES,
			KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(128)),
			Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
		},
	})
	if err != nil {
		return t.blobRefused(ctx, "importing the DPS key under the storage root key", err)
	}
	loaded, err := run(ctx, t, tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: srk.Handle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    imported.OutPrivate,
		InPublic:     tpm2.New2B(b.Public),
	})
	if err != nil {
		return t.classify("loading the imported DPS key", "", err)
	}
	defer t.flush(ctx, loaded.ObjectHandle)
	return t.persistDPSKey(ctx, tpm2.NamedHandle{Handle: loaded.ObjectHandle, Name: loaded.Name})
}

// namedKey returns the handle and Name of the persisted EK or SRK, which authorizing commands on
// them needs. A blob can only be for keys the TPM has, so a missing one refuses the blob.
func (t *TPM) namedKey(ctx context.Context, k primaryKey) (tpm2.NamedHandle, error) {
	rsp, err := run(ctx, t, tpm2.ReadPublic{ObjectHandle: k.handle})
	if errors.Is(err, tpm2.TPMRCHandle) {
		return tpm2.NamedHandle{}, newError(ErrBlobNotForThisTPM, err, "there is no %s at 0x%08x, so "+
			"the authenticationKey cannot be for this TPM: read the device's identity (which creates "+
			"the key), enroll that, and register again", k.what, uint32(k.handle))
	}
	if err != nil {
		return tpm2.NamedHandle{}, t.classify(fmt.Sprintf("reading the %s at 0x%08x", k.what, uint32(k.handle)), k.hierarchy, err)
	}
	return tpm2.NamedHandle{Handle: k.handle, Name: rsp.Name}, nil
}

// activateCredential recovers the blob's credential, the key of the duplicate's inner wrapper:
// the EK decrypts it, and the TPM releases it only because the SRK's Name is the one it was made
// for. The EK's policy is PolicySecret(endorsement), satisfied in a policy session.
func (t *TPM) activateCredential(ctx context.Context, ek, srk tpm2.NamedHandle, b *dpsblob.Blob) ([]byte, error) {
	sess, err := t.policySession(ctx)
	if err != nil {
		return nil, t.classify("starting a policy session for the endorsement key", "", err)
	}
	defer t.flush(ctx, sess.Handle())
	if _, err := run(ctx, t, tpm2.PolicySecret{
		AuthHandle:    tpm2.AuthHandle{Handle: tpm2.TPMRHEndorsement, Auth: tpm2.PasswordAuth(t.endorsementAuth)},
		PolicySession: sess.Handle(),
		NonceTPM:      sess.NonceTPM(),
	}); err != nil {
		return nil, t.classify("authorizing use of the endorsement key", HierarchyEndorsement, err)
	}
	rsp, err := run(ctx, t, tpm2.ActivateCredential{
		ActivateHandle: tpm2.AuthHandle{Handle: srk.Handle, Name: srk.Name, Auth: tpm2.PasswordAuth(nil)},
		KeyHandle:      tpm2.AuthHandle{Handle: ek.Handle, Name: ek.Name, Auth: sess},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: b.CredentialBlob},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: b.CredentialSecret},
	})
	if err != nil {
		return nil, t.blobRefused(ctx, "recovering the credential with the endorsement key", err)
	}
	return rsp.CertInfo.Buffer, nil
}

// policySession starts a SHA-256 policy session that stays loaded until flushed.
func (t *TPM) policySession(ctx context.Context) (sess tpm2.Session, err error) {
	// go-tpm parses the StartAuthSession response by reflection, outside run's guard.
	defer func() {
		if r := recover(); r != nil {
			sess, err = nil, malformed(nil, "the response to TPM2_StartAuthSession could not be parsed: %v", r)
		}
	}()
	sess, _, err = tpm2.PolicySession(&bound{ctx: ctx, t: t}, tpm2.TPMAlgSHA256, 16)
	return sess, err
}

// blobRefusals are the response codes with which TPM2_ActivateCredential and TPM2_Import refuse
// a blob made for other keys (an undecryptable seed, an HMAC that does not match) or damaged
// (sizes, bindings and key parameters that do not add up).
var blobRefusals = []tpm2.TPMRC{
	tpm2.TPMRCValue, tpm2.TPMRCIntegrity, tpm2.TPMRCSize, tpm2.TPMRCBinding, tpm2.TPMRCKey,
	tpm2.TPMRCKeySize, tpm2.TPMRCAttributes, tpm2.TPMRCType, tpm2.TPMRCHash, tpm2.TPMRCScheme,
	tpm2.TPMRCSymmetric, tpm2.TPMRCInsufficient,
}

// blobRefused explains the TPM refusing the blob during op, or classifies another error.
func (t *TPM) blobRefused(ctx context.Context, op string, err error) error {
	refused := slices.ContainsFunc(blobRefusals, func(rc tpm2.TPMRC) bool { return errors.Is(err, rc) })
	if !refused && errors.Is(err, tpm2.TPMRCFailure) {
		// libtpms (swtpm, and firmware TPMs built on it) answers an RSA-OAEP decryption that fails
		// with TPM_RC_FAILURE, which otherwise means the TPM is in failure mode. In failure mode
		// it refuses TPM2_GetRandom; if that works, the failure was the blob's.
		_, probe := run(ctx, t, tpm2.GetRandom{BytesRequested: 1})
		refused = probe == nil
	}
	if refused {
		return newError(ErrBlobNotForThisTPM, err, "%s: the TPM refused the authenticationKey: DPS made it "+
			"for another TPM's endorsement key or storage root key, or it was damaged on the way; check "+
			"that the enrollment holds this device's keys (its registration ID), and register again", op)
	}
	return t.classify(op, "", err)
}

// persistDPSKey makes the loaded key the one at DPSKeyHandle: the key there, if any, is evicted
// first, since a persistent handle holds one object. Only an HMAC key is evicted; anything else
// there belongs to someone else.
func (t *TPM) persistDPSKey(ctx context.Context, key tpm2.NamedHandle) error {
	owner := tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(t.ownerAuth)}
	old, err := t.dpsKey(ctx)
	switch {
	case err == nil:
		if _, err := run(ctx, t, tpm2.EvictControl{Auth: owner, ObjectHandle: old, PersistentHandle: old.Handle}); err != nil {
			return t.classify(fmt.Sprintf("removing the previous DPS key from 0x%08x", DPSKeyHandle), HierarchyOwner, err)
		}
	case !errors.Is(err, ErrNoDPSKey):
		return err
	}
	if _, err := run(ctx, t, tpm2.EvictControl{Auth: owner, ObjectHandle: key, PersistentHandle: tpm2.TPMHandle(DPSKeyHandle)}); err != nil {
		return t.classify(fmt.Sprintf("persisting the DPS key at 0x%08x", DPSKeyHandle), HierarchyOwner, err)
	}
	return nil
}

// dpsKey returns the handle and Name of the HMAC key at DPSKeyHandle, ErrNoDPSKey when nothing
// is there, and ErrDPSHandleTaken when something else is.
func (t *TPM) dpsKey(ctx context.Context) (tpm2.NamedHandle, error) {
	h := tpm2.TPMHandle(DPSKeyHandle)
	rsp, err := run(ctx, t, tpm2.ReadPublic{ObjectHandle: h})
	if errors.Is(err, tpm2.TPMRCHandle) {
		return tpm2.NamedHandle{}, newError(ErrNoDPSKey, nil, "there is no DPS key at 0x%08x: the device "+
			"must register with DPS first, which imports it", DPSKeyHandle)
	}
	if err != nil {
		return tpm2.NamedHandle{}, t.classify(fmt.Sprintf("reading the DPS key at 0x%08x", DPSKeyHandle), "", err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return tpm2.NamedHandle{}, malformed(err, "the public area at 0x%08x", DPSKeyHandle)
	}
	if pub.Type != tpm2.TPMAlgKeyedHash || !pub.ObjectAttributes.SignEncrypt {
		return tpm2.NamedHandle{}, newError(ErrDPSHandleTaken, nil, "0x%08x, where the DPS key belongs, holds "+
			"%s, not an HMAC key: another program uses that handle; if nothing needs that object, remove "+
			"it (tpm2_evictcontrol -C o -c 0x%08x)", DPSKeyHandle, objectKind(pub), DPSKeyHandle)
	}
	return tpm2.NamedHandle{Handle: h, Name: rsp.Name}, nil
}

// objectKind describes an object for a message.
func objectKind(pub *tpm2.TPMTPublic) string {
	if p := storageKeyProblem(pub); p != "" {
		return p
	}
	return "an RSA-2048 storage key"
}

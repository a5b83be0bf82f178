package tpm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// primaryKey describes a primary key this package reads from its persistent handle, or creates
// from its template and persists there when absent.
type primaryKey struct {
	// what names the key in messages ("endorsement key").
	what string
	// handle is the persistent handle.
	handle tpm2.TPMHandle
	// hierarchy is the hierarchy the key is created in.
	hierarchy string
	// template returns the creation template.
	template func() tpm2.TPMTPublic
	// wrongKey explains a key at handle that is not what DPS needs; problem describes it.
	wrongKey func(problem string) *Error
	// problem returns "" when a public area is the key wanted, else what it is instead;
	// nil means storageKeyProblem (the EK and the SRK).
	problem func(*tpm2.TPMTPublic) string
	// parms are the key's parameters, which TPM2_TestParms checks before creating it, and
	// unsupportedErr explains a TPM that does not implement them; nil means RSA-2048.
	parms          func() tpm2.TPMTPublicParms
	unsupportedErr func(cause error) *Error
}

// readOrCreate returns the key's TPM2B_PUBLIC (size prefix included), exactly as the TPM
// reports it, after checking it is the key wanted (an RSA-2048 restricted decryption key unless
// k.problem says otherwise).
func (t *TPM) readOrCreate(ctx context.Context, k primaryKey) ([]byte, error) {
	b, _, _, err := t.readOrCreatePublic(ctx, k)
	return b, err
}

// readOrCreatePublic is readOrCreate also returning the parsed public area and whether the key
// was created now.
func (t *TPM) readOrCreatePublic(ctx context.Context, k primaryKey) ([]byte, *tpm2.TPMTPublic, bool, error) {
	b, pub, err := t.readPersistent(ctx, k)
	created := false
	if err == nil && b == nil {
		b, pub, err = t.createPersistent(ctx, k)
		created = true
	}
	if err != nil {
		return nil, nil, false, err
	}
	check := storageKeyProblem
	if k.problem != nil {
		check = k.problem
	}
	if problem := check(pub); problem != "" {
		return nil, nil, false, k.wrongKey(problem)
	}
	return b, pub, created, nil
}

// readPersistent reads the public area at k.handle; nil bytes and no error mean nothing is there.
func (t *TPM) readPersistent(ctx context.Context, k primaryKey) ([]byte, *tpm2.TPMTPublic, error) {
	rsp, err := run(ctx, t, tpm2.ReadPublic{ObjectHandle: k.handle})
	if errors.Is(err, tpm2.TPMRCHandle) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, t.classify(fmt.Sprintf("reading the %s at 0x%08x", k.what, uint32(k.handle)), k.hierarchy, err)
	}
	return checkedPublic(rsp.OutPublic, k)
}

// checkedPublic marshals a public area as its TPM2B and parses it back strictly.
func checkedPublic(p tpm2.TPM2BPublic, k primaryKey) ([]byte, *tpm2.TPMTPublic, error) {
	b := tpm2.Marshal(p)
	pub, err := parsePublic(b)
	if err != nil {
		return nil, nil, malformed(err, "the %s's public area", k.what)
	}
	return b, pub, nil
}

// createPersistent creates the key from its template in its hierarchy and persists it at
// k.handle with the owner's authorization.
func (t *TPM) createPersistent(ctx context.Context, k primaryKey) ([]byte, *tpm2.TPMTPublic, error) {
	parms, unsupportedErr, what := rsa2048Parms, rsaUnsupported, "RSA-2048"
	if k.parms != nil {
		parms, unsupportedErr, what = k.parms, k.unsupportedErr, "the "+k.what
	}
	// Asking first turns "this TPM has no RSA-2048" into a clear answer instead of whatever
	// parameter error CreatePrimary would give.
	if _, err := run(ctx, t, tpm2.TestParms{Parameters: parms()}); err != nil {
		if unsupported(err) {
			return nil, nil, unsupportedErr(err)
		}
		if !errors.Is(err, tpm2.TPMRCCommandCode) {
			return nil, nil, t.classify("checking support for "+what, "", err)
		}
	}
	created, err := run(ctx, t, tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: hierarchyHandle(k.hierarchy), Auth: tpm2.PasswordAuth(t.auth(k.hierarchy))},
		InPublic:      tpm2.New2B(k.template()),
	})
	if err != nil {
		if unsupported(err) {
			return nil, nil, unsupportedErr(err)
		}
		return nil, nil, t.classify("creating the "+k.what, k.hierarchy, err)
	}
	defer t.flush(ctx, created.ObjectHandle)

	b, pub, err := checkedPublic(created.OutPublic, k)
	if err != nil {
		return nil, nil, err
	}
	_, err = run(ctx, t, tpm2.EvictControl{
		Auth:             tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(t.ownerAuth)},
		ObjectHandle:     tpm2.NamedHandle{Handle: created.ObjectHandle, Name: created.Name},
		PersistentHandle: k.handle,
	})
	if errors.Is(err, tpm2.TPMRCNVDefined) {
		// Another program persisted a key there since we looked: that one is the key now.
		return t.readPersistent(ctx, k)
	}
	if err != nil {
		return nil, nil, t.classify(fmt.Sprintf("persisting the %s at 0x%08x", k.what, uint32(k.handle)), HierarchyOwner, err)
	}
	return b, pub, nil
}

// flush unloads a transient object. It runs even when ctx is already cancelled, with a short
// bound of its own, so that an abandoned creation does not leave a key occupying TPM memory.
func (t *TPM) flush(ctx context.Context, h tpm2.TPMHandle) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = run(fctx, t, tpm2.FlushContext{FlushHandle: h})
}

// hierarchyHandle returns the TPM handle of a hierarchy.
func hierarchyHandle(hierarchy string) tpm2.TPMHandle {
	if hierarchy == HierarchyEndorsement {
		return tpm2.TPMRHEndorsement
	}
	return tpm2.TPMRHOwner
}

// unsupported reports the response codes a TPM gives for key parameters it does not implement.
func unsupported(err error) bool {
	for _, rc := range []tpm2.TPMRC{tpm2.TPMRCKeySize, tpm2.TPMRCAsymmetric, tpm2.TPMRCValue, tpm2.TPMRCSymmetric, tpm2.TPMRCScheme} {
		if errors.Is(err, rc) {
			return true
		}
	}
	return false
}

// rsaUnsupported explains a TPM that cannot make RSA-2048 keys.
func rsaUnsupported(cause error) *Error {
	return newError(ErrRSA2048Unsupported, cause, "this TPM cannot create RSA-2048 keys, and DPS TPM "+
		"attestation needs an RSA-2048 endorsement key: use X.509 or symmetric-key attestation for this device")
}

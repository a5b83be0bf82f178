package tpm

import (
	"context"

	"github.com/google/go-tpm/tpm2"
)

// ekKey is the RSA-2048 endorsement key at EKHandle.
var ekKey = primaryKey{
	what:      "endorsement key",
	handle:    tpm2.TPMHandle(EKHandle),
	hierarchy: HierarchyEndorsement,
	template:  ekTemplate,
	wrongKey: func(problem string) *Error {
		return newError(ErrEKNotRSA2048, nil, "the endorsement key at 0x%08x is %s, not RSA-2048; DPS "+
			"TPM attestation needs an RSA-2048 EK: if this TPM can create RSA keys, remove that key "+
			"(tpm2_evictcontrol -C o -c 0x%08x; an EK can always be recreated from its template) and run "+
			"again to create the RSA-2048 EK there; otherwise use X.509 or symmetric-key attestation",
			EKHandle, problem, EKHandle)
	},
}

// EndorsementKey returns the RSA-2048 endorsement key's TPM2B_PUBLIC, size prefix included, the
// form DPS takes (base64-encoded). It is read from EKHandle; when nothing is there it is created
// with the TCG L-1 template in the endorsement hierarchy and persisted at EKHandle.
func (t *TPM) EndorsementKey(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readOrCreate(ctx, ekKey)
}

package tpm

import (
	"context"

	"github.com/google/go-tpm/tpm2"
)

// srkKey is the RSA-2048 storage root key at SRKHandle.
var srkKey = primaryKey{
	what:      "storage root key",
	handle:    tpm2.TPMHandle(SRKHandle),
	hierarchy: HierarchyOwner,
	template:  srkTemplate,
	wrongKey: func(problem string) *Error {
		return newError(ErrSRKUnusable, nil, "the key at 0x%08x is %s; DPS TPM attestation needs an RSA-2048 "+
			"storage root key there to import its key under: if nothing else on this device uses that key, "+
			"remove it (tpm2_evictcontrol -C o -c 0x%08x) and run again to create the SRK there",
			SRKHandle, problem, SRKHandle)
	},
}

// StorageRootKey returns the RSA-2048 storage root key's TPM2B_PUBLIC, size prefix included. It
// is read from SRKHandle; when nothing is there it is created with the SRK template in the owner
// hierarchy and persisted at SRKHandle.
func (t *TPM) StorageRootKey(ctx context.Context) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.readOrCreate(ctx, srkKey)
}

package tpm

import (
	"context"

	"github.com/oobtpm/oob/pkg/identity"
)

// Identity reads (creating when absent) the EK and SRK, reads the EK certificate when there is
// one, and returns them with the registration ID derived from the EK.
func (t *TPM) Identity(ctx context.Context) (identity.Identity, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ek, err := t.readOrCreate(ctx, ekKey)
	if err != nil {
		return identity.Identity{}, err
	}
	srk, err := t.readOrCreate(ctx, srkKey)
	if err != nil {
		return identity.Identity{}, err
	}
	cert, err := t.ekCertificate(ctx)
	if err != nil {
		return identity.Identity{}, err
	}
	return identity.Identity{
		RegistrationID: identity.DeriveRegistrationID(ek),
		EndorsementKey: ek,
		StorageRootKey: srk,
		EKCertificate:  cert,
	}, nil
}

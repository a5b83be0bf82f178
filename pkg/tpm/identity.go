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

// DeviceIdentity returns the identity the device presents: Identity's, with registrationID, when
// set, replacing the one derived from the EK (an OEM-chosen ID, which must be valid for DPS) and
// label carried as given.
func (t *TPM) DeviceIdentity(ctx context.Context, registrationID, label string) (identity.Identity, error) {
	if registrationID != "" {
		if err := identity.ValidateRegistrationID(registrationID); err != nil {
			return identity.Identity{}, err
		}
	}
	id, err := t.Identity(ctx)
	if err != nil {
		return identity.Identity{}, err
	}
	if registrationID != "" {
		id.RegistrationID = registrationID
	}
	id.Label = label
	return id, nil
}

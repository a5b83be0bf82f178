package tpm

import "context"

// Attestation is the TPM as DPS registration uses it (it satisfies provision.TPM): the EK and SRK
// read once, DPS's keys imported into the DPS key slot, and tokens signed there, inside the TPM.
type Attestation struct {
	t       *TPM
	ek, srk []byte
}

// Attestation reads (or creates) the EK and SRK and returns the TPM ready for registration.
func (t *TPM) Attestation(ctx context.Context) (*Attestation, error) {
	ek, err := t.EndorsementKey(ctx)
	if err != nil {
		return nil, err
	}
	srk, err := t.StorageRootKey(ctx)
	if err != nil {
		return nil, err
	}
	return &Attestation{t: t, ek: ek, srk: srk}, nil
}

// EndorsementKey returns the EK's TPM2B_PUBLIC.
func (a *Attestation) EndorsementKey() []byte { return a.ek }

// StorageRootKey returns the SRK's TPM2B_PUBLIC.
func (a *Attestation) StorageRootKey() []byte { return a.srk }

// ImportKey imports a DPS authenticationKey blob over the DPS key (see ImportDPSKey).
func (a *Attestation) ImportKey(ctx context.Context, blob []byte) error {
	return a.t.ImportDPSKey(ctx, blob)
}

// Sign computes HMAC-SHA256 with the DPS key (see SignHMAC).
func (a *Attestation) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return a.t.SignHMAC(ctx, data)
}

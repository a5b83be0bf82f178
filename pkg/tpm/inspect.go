package tpm

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/google/go-tpm/tpm2"
)

// Info is what a TPM reports of itself (TPM2_GetCapability, TPM_CAP_TPM_PROPERTIES).
type Info struct {
	// Family is the specification family: "2.0" for a TPM 2.0.
	Family string
	// Manufacturer is the maker's TCG vendor ID, such as "IFX", "STM", "NTC", "IBM".
	Manufacturer string
	// ManufacturerID is the same ID as the TPM reports it, four ASCII bytes in a number, as EK
	// certificates write it ("id:49465800").
	ManufacturerID uint32
	// Vendor is the maker's free-form model string (TPM_PT_VENDOR_STRING_1 to 4).
	Vendor string
	// Firmware is the firmware version: TPM_PT_FIRMWARE_VERSION_1 and _2 as most makers print
	// them, "MAJOR.MINOR.X.Y" from their four 16-bit halves.
	Firmware string
	// Revision is the specification revision times 100 (159 for revision 1.59).
	Revision uint32
	// OwnerAuthSet and EndorsementAuthSet say whether those hierarchies have a password.
	OwnerAuthSet, EndorsementAuthSet bool
	// InLockout says the TPM refuses authorizations after too many wrong passwords.
	InLockout bool
	// OwnerEnabled and EndorsementEnabled say whether those hierarchies are enabled this boot.
	OwnerEnabled, EndorsementEnabled bool
}

// Bits of TPMA_PERMANENT and TPMA_STARTUP_CLEAR (TPM 2.0 Part 2, 8.6 and 8.7).
const (
	permanentOwnerAuthSet       = 1 << 0
	permanentEndorsementAuthSet = 1 << 1
	permanentInLockout          = 1 << 9
	startupClearSHEnable        = 1 << 1
	startupClearEHEnable        = 1 << 2
)

// Name is how messages refer to the TPM: its device path or tcp:// address.
func (t *TPM) Name() string { return t.name }

// Info reads the TPM's family, maker, model, firmware and hierarchy settings. It changes
// nothing in the TPM.
func (t *TPM) Info(ctx context.Context) (Info, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	props := map[tpm2.TPMPT]uint32{}
	for _, r := range []struct {
		first tpm2.TPMPT
		count uint32
	}{{tpm2.TPMPTFamilyIndicator, uint32(tpm2.TPMPTFirmwareVersion2-tpm2.TPMPTFamilyIndicator) + 1}, {tpm2.TPMPTPermanent, 2}} {
		rsp, err := run(ctx, t, tpm2.GetCapability{Capability: tpm2.TPMCapTPMProperties, Property: uint32(r.first), PropertyCount: r.count})
		if err != nil {
			return Info{}, t.classify(fmt.Sprintf("asking %s for its properties", t.name), "", err)
		}
		tp, err := rsp.CapabilityData.Data.TPMProperties()
		if err != nil {
			return Info{}, malformed(err, "TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)")
		}
		for _, p := range tp.TPMProperty {
			props[p.Property] = p.Value
		}
	}
	fw1, fw2 := props[tpm2.TPMPTFirmwareVersion1], props[tpm2.TPMPTFirmwareVersion2]
	perm, clear := props[tpm2.TPMPTPermanent], props[tpm2.TPMPTStartupClear]
	return Info{
		Family:         propertyString(props[tpm2.TPMPTFamilyIndicator]),
		Manufacturer:   propertyString(props[tpm2.TPMPTManufacturer]),
		ManufacturerID: props[tpm2.TPMPTManufacturer],
		Vendor: propertyString(props[tpm2.TPMPTVendorString1]) + propertyString(props[tpm2.TPMPTVendorString2]) +
			propertyString(props[tpm2.TPMPTVendorString3]) + propertyString(props[tpm2.TPMPTVendorString4]),
		Firmware:           fmt.Sprintf("%d.%d.%d.%d", fw1>>16, fw1&0xffff, fw2>>16, fw2&0xffff),
		Revision:           props[tpm2.TPMPTRevision],
		OwnerAuthSet:       perm&permanentOwnerAuthSet != 0,
		EndorsementAuthSet: perm&permanentEndorsementAuthSet != 0,
		InLockout:          perm&permanentInLockout != 0,
		OwnerEnabled:       clear&startupClearSHEnable != 0,
		EndorsementEnabled: clear&startupClearEHEnable != 0,
	}, nil
}

// propertyString reads a property that holds up to four ASCII characters, as the family,
// manufacturer and vendor strings do, without its padding.
func propertyString(v uint32) string {
	b := []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	b = bytes.TrimRight(b, "\x00 ")
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return strings.TrimSpace(string(b))
}

// PersistedEK returns the endorsement key at EKHandle as the TPM holds it, without creating
// one: nil and no error when nothing is there, an ErrEKNotRSA2048 error when another kind of
// key is.
func (t *TPM) PersistedEK(ctx context.Context) ([]byte, error) {
	b, _, err := t.persisted(ctx, ekKey)
	return b, err
}

// PersistedSRK returns the storage root key at SRKHandle as the TPM holds it, without creating
// one, and whether it was made from the standard SRK template (the one DPS's import assumes):
// nil and no error when nothing is there, an ErrSRKUnusable error when it is no RSA-2048
// storage key at all.
func (t *TPM) PersistedSRK(ctx context.Context) (pub []byte, standard bool, err error) {
	b, p, err := t.persisted(ctx, srkKey)
	if b == nil || err != nil {
		return nil, false, err
	}
	return b, sameTemplate(p, srkTemplate()), nil
}

// CheckDPSKey reports whether an HMAC key imported from DPS is at DPSKeyHandle: nil when one
// is, an ErrNoDPSKey error when nothing is there (the device has not registered yet), an
// ErrDPSHandleTaken error when another program's object is.
func (t *TPM) CheckDPSKey(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, err := t.dpsKey(ctx)
	return err
}

// persisted reads the key at k.handle and checks it is the kind wanted, creating nothing.
func (t *TPM) persisted(ctx context.Context, k primaryKey) ([]byte, *tpm2.TPMTPublic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, pub, err := t.readPersistent(ctx, k)
	if err != nil || b == nil {
		return nil, nil, err
	}
	if problem := storageKeyProblem(pub); problem != "" {
		return nil, nil, k.wrongKey(problem)
	}
	return b, pub, nil
}

// sameTemplate reports whether pub has every field of template but the unique one, which is
// the key's own.
func sameTemplate(pub *tpm2.TPMTPublic, template tpm2.TPMTPublic) bool {
	p := *pub
	p.Unique = template.Unique
	return bytes.Equal(tpm2.Marshal(p), tpm2.Marshal(template))
}

// HasDeviceKey reports whether the device's signing key (`oob-agent certify`'s) is at
// DeviceKeyHandle, without creating it; an ErrDeviceKeyHandleTaken error says another object
// is there.
func (t *TPM) HasDeviceKey(ctx context.Context) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, pub, err := t.readPersistent(ctx, deviceKey)
	if err != nil || b == nil {
		return false, err
	}
	if problem := deviceKeyProblem(pub); problem != "" {
		return false, deviceKey.wrongKey(problem)
	}
	return true, nil
}

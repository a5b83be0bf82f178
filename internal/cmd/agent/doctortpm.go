package agent

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/ekcert"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/tpm"
)

// checkTPM opens the TPM the config names and reads what it says of itself.
func (d *agentDoctor) checkTPM(ctx context.Context) doctor.Finding {
	if d.cfg == nil {
		d.tpmSkip = "needs the config, which did not load"
		return doctor.Skipf("%s", d.tpmSkip)
	}
	x := d.cfg.X509
	if x != nil && x.Key != firstboot.KeyInTPM {
		d.tpmSkip = "not used: the device registers with its X.509 certificate and the key file " + x.Key
		return doctor.Skipf("%s", d.tpmSkip)
	}
	c := d.cfg.TPM
	opts := tpmOptions{Spec: c.Path, EndorsementAuthFile: c.EndorsementAuthFile, OwnerAuthFile: c.OwnerAuthFile}
	t, err := opts.open(ctx)
	if err != nil {
		d.tpmSkip = "needs the TPM, which did not open"
		return doctor.Failf(tpmFix(err), "%v", err)
	}
	d.tpm = t
	info, err := t.Info(ctx)
	if err != nil {
		d.tpmSkip = "needs the TPM, which did not answer"
		return doctor.Failf(tpmFix(err), "%v", err)
	}
	d.tpmInfo = info
	if x != nil {
		// An X.509 board keeps its certificate's key in the TPM; DPS never sees the EK.
		d.tpmSkip = "not used: the device registers with its X.509 certificate"
	}
	detail := fmt.Sprintf("%s answers as a TPM %s (specification revision %d.%02d); maker %s, model %q, firmware %s",
		t.Name(), info.Family, info.Revision/100, info.Revision%100, makerName(info), info.Vendor, info.Firmware)
	switch {
	case info.Family != "2.0":
		return doctor.Failf("switch the TPM to 2.0 mode in the firmware setup if it offers that, or onboard the device by X.509",
			"%s: not a TPM 2.0, which DPS needs", detail)
	case info.InLockout:
		return doctor.Failf("wait for the lockout to expire, or clear it with the lockout password (tpm2_dictionarylockout --clear-lockout)",
			"%s; it is in dictionary-attack lockout after too many wrong passwords, and refuses the keys' passwords", detail)
	case !info.OwnerEnabled:
		return doctor.Failf("enable the TPM's storage hierarchy in the firmware's TPM settings and reboot",
			"%s; its owner (storage) hierarchy is disabled for this boot, so no key can be used or persisted", detail)
	case !info.EndorsementEnabled && x == nil:
		return doctor.Failf("enable the TPM's endorsement hierarchy in the firmware's TPM settings and reboot",
			"%s; its endorsement hierarchy is disabled for this boot, so the EK DPS attests cannot be used", detail)
	}
	return doctor.Okf("%s", detail)
}

// makerName names the TPM's maker as the TCG's vendor registry does, with its ID.
func makerName(info tpm.Info) string {
	name := ekcert.TPMInfo{Manufacturer: fmt.Sprintf("id:%08X", info.ManufacturerID)}.ManufacturerName()
	if name == "" || name == info.Manufacturer {
		return fmt.Sprintf("%q", info.Manufacturer)
	}
	return fmt.Sprintf("%s (%s)", name, info.Manufacturer)
}

// tpmSkipped is the finding of a TPM check that does not apply or cannot run.
func (d *agentDoctor) tpmSkipped() (doctor.Finding, bool) {
	if d.tpmSkip != "" {
		return doctor.Skipf("%s", d.tpmSkip), true
	}
	return doctor.Finding{}, false
}

// checkEK reads the persisted EK and checks its template.
func (d *agentDoctor) checkEK(ctx context.Context) doctor.Finding {
	if f, skip := d.tpmSkipped(); skip {
		return f
	}
	b, err := d.tpm.PersistedEK(ctx)
	if err != nil {
		return doctor.Failf(tpmFix(err), "%v", err)
	}
	if b == nil {
		if f, blocked := d.cannotCreate("endorsement key", d.tpmInfo.EndorsementAuthSet, tpm.HierarchyEndorsement,
			d.cfg.TPM.EndorsementAuthFile, envEndorsementAuth, "tpm.endorsementAuthFile"); blocked {
			return f
		}
		return doctor.Okf("none persisted: at first boot the agent creates it from the TCG's standard RSA-2048 template " +
			"and persists it here (the same key each time, from the TPM's endorsement seed)")
	}
	ek, err := identity.ParseEK(b)
	if err != nil {
		return doctor.Failf("remove it (tpm2_evictcontrol -C o -c 0x81010001) and run the agent again: it creates the standard EK there",
			"the key at 0x81010001 cannot be DPS's EK: %v", err)
	}
	d.ek = b
	if !ek.Standard {
		return doctor.Failf("remove it (tpm2_evictcontrol -C o -c 0x81010001) and run the agent again: it re-creates the EK "+
			"from the standard template, the key the TPM maker's EK certificate certifies; enroll the device's new code",
			"an RSA-2048 key not made from the TCG's standard EK template (attributes 0x000300B2, the endorsement "+
				"policy): importing DPS's key authorizes the EK by that policy, and fails with this key (registration ID %s)",
			ek.RegistrationID())
	}
	return doctor.Okf("RSA-2048 from the TCG's standard template, as DPS expects; registration ID %s", ek.RegistrationID())
}

// cannotCreate reports, for a key absent from the TPM, whether the agent will fail to create
// it: the hierarchy it is made in (and the owner's, which persists it) has a password the
// config does not supply.
func (d *agentDoctor) cannotCreate(what string, authSet bool, hierarchy, file, env, setting string) (doctor.Finding, bool) {
	if authSet && file == "" && os.Getenv(env) == "" {
		return doctor.Failf(fmt.Sprintf("put the %s hierarchy's password in a 0600 file and name it in the config's %s (or set %s for the agent's service)", hierarchy, setting, env),
			"none persisted, and the agent cannot create it: the TPM's %s hierarchy has a password the config does not give", hierarchy), true
	}
	if d.tpmInfo.OwnerAuthSet && d.cfg.TPM.OwnerAuthFile == "" && os.Getenv(envOwnerAuth) == "" {
		return doctor.Failf("put the owner hierarchy's password in a 0600 file and name it in the config's tpm.ownerAuthFile (or set "+envOwnerAuth+" for the agent's service)",
			"none persisted, and the agent cannot persist the %s it creates: the TPM's owner hierarchy has a password the config does not give", what), true
	}
	return doctor.Finding{}, false
}

// checkEKCert reads the EK certificate and checks that it certifies the EK, as `identity` does.
func (d *agentDoctor) checkEKCert(ctx context.Context) doctor.Finding {
	if f, skip := d.tpmSkipped(); skip {
		return f
	}
	cert, err := d.tpm.EKCertificate(ctx)
	if err != nil {
		return doctor.Failf("report it to the board's maker: the agent reads the certificate with the identity and stops on it",
			"%v", err)
	}
	if cert == nil {
		return doctor.Okf("none provisioned: DPS does not need one (only `companion enroll --require-ek-cert` does)")
	}
	info := describeEKCert(cert, d.ek)
	maker := ""
	if t := info.TPM; t != nil {
		name := t.ManufacturerName
		if name == "" {
			name = t.Manufacturer
		}
		maker = fmt.Sprintf("the TPM is %s's %s, firmware %s, as the certificate says; ", name, t.Model, t.FirmwareVersion)
	}
	switch {
	case info.MatchesEK == nil:
		return doctor.Warnf("DPS does not need it, but `companion enroll --require-ek-cert` refuses this device; report it to the board's maker",
			"%d bytes that do not read as an EK certificate: %s", len(cert), info.Problem)
	case d.ek == nil:
		return doctor.Okf("%s%d bytes; the EK it certifies is created at first boot", maker, len(cert))
	case !*info.MatchesEK:
		return doctor.Warnf("if the EK is not the standard one (the line above), remove it and let the agent re-create it; "+
			"if the TPM's endorsement seed was changed, no EK will match again: enroll without --require-ek-cert",
			"%s%s; DPS's own verifiers and `companion enroll --require-ek-cert` refuse this device",
			maker, info.Problem)
	}
	return doctor.Okf("%sit certifies this EK", maker)
}

// checkSRK reads the persisted SRK and checks its template.
func (d *agentDoctor) checkSRK(ctx context.Context) doctor.Finding {
	if f, skip := d.tpmSkipped(); skip {
		return f
	}
	b, standard, err := d.tpm.PersistedSRK(ctx)
	if err != nil {
		return doctor.Failf(tpmFix(err), "%v", err)
	}
	if b == nil {
		if f, blocked := d.cannotCreate("storage root key", d.tpmInfo.OwnerAuthSet, tpm.HierarchyOwner,
			d.cfg.TPM.OwnerAuthFile, envOwnerAuth, "tpm.ownerAuthFile"); blocked {
			return f
		}
		return doctor.Okf("none persisted: at first boot the agent creates it from the standard SRK template and persists it here")
	}
	d.srk = true
	if !standard {
		return doctor.Failf("if nothing else on this device uses that key, remove it (tpm2_evictcontrol -C o -c 0x81000001) "+
			"and run the agent again: it creates the standard SRK there",
			"an RSA-2048 storage key of another template than the standard SRK (attributes 0x00030472, AES-128-CFB, no "+
				"password or policy): DPS seals its key to the SRK assuming that template, so the registration fails (DPS refuses the SRK, or the TPM the key sealed to it)")
	}
	return doctor.Okf("RSA-2048 from the standard SRK template, as DPS's key import needs")
}

// checkDPSKey looks at the slot DPS's key is imported into.
func (d *agentDoctor) checkDPSKey(ctx context.Context) doctor.Finding {
	if f, skip := d.tpmSkipped(); skip {
		return f
	}
	err := d.tpm.CheckDPSKey(ctx)
	switch {
	case err == nil:
		d.dpsKey = true
		return doctor.Okf("an HMAC key imported from DPS: the device has registered before")
	case errors.Is(err, tpm.ErrNoDPSKey):
		return doctor.Okf("empty: the device has not registered yet; its first registration imports DPS's key here")
	case errors.Is(err, tpm.ErrDPSHandleTaken):
		return doctor.Failf("if nothing on this device needs that object, remove it (tpm2_evictcontrol -C o -c 0x81000100), "+
			"then run the agent again", "%v", err)
	}
	return doctor.Failf(tpmFix(err), "%v", err)
}

// tpmFix says what to do about a TPM error, by its kind; the message itself says more.
func tpmFix(err error) string {
	switch {
	case errors.Is(err, tpm.ErrNoTPM):
		return "enable the TPM in the firmware setup, or load its driver (tpm_tis, tpm_crb); a TPM elsewhere goes in the config's tpm.path"
	case errors.Is(err, tpm.ErrPermission):
		return "run the doctor as the agent runs (root), or add this user to the tss group"
	case errors.Is(err, tpm.ErrNotAnswering):
		return "start the software TPM, or correct the config's tpm.path"
	case errors.Is(err, tpm.ErrTPM12):
		return "switch the TPM to 2.0 mode in the firmware setup if it offers that, or onboard the device by X.509"
	case errors.Is(err, tpm.ErrHierarchyAuth):
		return "give the hierarchy's password in the file the config's tpm section names"
	case errors.Is(err, tpm.ErrBadSpec):
		return "correct the config's tpm.path: a device path such as /dev/tpmrm0, or tcp://HOST:PORT"
	}
	return "do as the message says, then run the doctor again"
}

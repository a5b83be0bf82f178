package agent

import (
	"context"
	"errors"
	"time"

	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/retry"
)

// dpsStatusTimeout bounds the status look-up: a TLS handshake, one request, one retry.
const dpsStatusTimeout = 45 * time.Second

// checkDPSStatus asks DPS what it decided about the device, when the device can prove itself
// without registering: by its X.509 certificate, or by a TPM holding the key of DPS's challenge.
func (d *agentDoctor) checkDPSStatus(ctx context.Context) doctor.Finding {
	if d.cfg == nil {
		return noConfig()
	}
	if d.unreachable {
		return doctor.Skipf("needs DPS's name to resolve and its TLS to verify, which failed above")
	}
	pc := provision.Config{IDScope: d.cfg.DPS.IDScope, Endpoint: d.cfg.DPS.Endpoint, RegistrationID: d.cfg.DPS.RegistrationID,
		Retry: retry.Policy{MaxAttempts: 2, MaxRetryAfter: 5 * time.Second}}
	if f, ok := d.statusCredential(ctx, &pc); !ok {
		return f
	}
	if ca := d.cfg.DPS.CAFile; ca != "" {
		pool, err := cafile.Load(ca)
		if err != nil {
			return doctor.Failf("correct the config's dps.caFile: the PEM file of the CA that issued DPS's TLS certificate", "%v", err)
		}
		pc.RootCAs = pool
	}
	res, err := provision.LookupStatus(ctx, pc)
	id := pc.RegistrationID
	switch {
	case errors.Is(err, provision.ErrNoRegistration):
		return doctor.Okf("DPS accepts the device, and it has not registered yet: the agent registers at first boot")
	case errors.Is(err, provision.ErrNotEnrolled) && pc.Certificate != nil:
		return doctor.Failf("have the board activated (its label's activation URL), or enroll this certificate, then run the doctor again",
			"DPS does not accept this device's certificate: no enrollment holds it (%v)", err)
	case errors.Is(err, provision.ErrNotEnrolled):
		return doctor.Warnf("run the agent: it registers again and answers a fresh challenge; if that fails too, check the device's enrollment",
			"DPS does not accept the key in the TPM's DPS key slot: the challenge it came with has expired, or the enrollment changed (%v)", err)
	case err != nil:
		return doctor.Failf("check the device's network, DNS and clock, and the config's dps.endpoint and dps.caFile", "%v", err)
	}
	if id == "" {
		id = res.RegistrationID
	}
	switch res.Status {
	case dpsapi.RegistrationAssigned:
		return doctor.Okf("%s is assigned to %s as device %s (%s)", id, res.AssignedHub, res.DeviceID, res.Substatus)
	case dpsapi.RegistrationDisabled:
		fix := "enable the device's enrollment (companion, or the Azure portal); the agent's next attempt then registers it"
		if pc.Certificate != nil {
			fix = "activate the board (its label's activation URL), which enables its enrollment; the agent's next attempt then registers it"
		}
		return doctor.Failf(fix, "%s: DPS refused the registration because the device's enrollment is disabled", id)
	case dpsapi.RegistrationFailed:
		return doctor.Failf("fix what DPS says, then run the agent: it registers again",
			"%s: DPS could not assign the device: error %d: %s", id, res.ErrorCode, res.ErrorMessage)
	}
	return doctor.Okf("%s: DPS's registration state is %q: it has not decided yet", id, res.Status)
}

// statusCredential sets how the device proves itself for the look-up. It is false, with the
// finding to report, when the device cannot.
func (d *agentDoctor) statusCredential(ctx context.Context, pc *provision.Config) (doctor.Finding, bool) {
	if x := d.cfg.X509; x != nil {
		if x.Key == firstboot.KeyInTPM {
			if d.tpm == nil {
				return doctor.Skipf("needs the TPM, which holds the certificate's key"), false
			}
			has, err := d.tpm.HasDeviceKey(ctx)
			if err != nil {
				return doctor.Failf(tpmFix(err), "%v", err), false
			}
			if !has {
				return doctor.Failf("run `oob-agent certify` at the factory station: it makes the key and gets its certificate",
					"the TPM holds no device key at 0x81000101, so the certificate cannot be used"), false
			}
			d.close() // openX509Key opens the TPM itself; a software TPM takes one client
		}
		c := d.cfg.TPM
		key, closeKey, err := openX509Key(ctx, x, tpmOptions{Spec: c.Path, EndorsementAuthFile: c.EndorsementAuthFile, OwnerAuthFile: c.OwnerAuthFile})
		if err != nil {
			return doctor.Failf("do as the message says, then run the doctor again", "%v", err), false
		}
		cert, err := firstboot.LoadCertificate(x, key)
		if err != nil {
			_ = closeKey()
			return doctor.Failf("do as the message says, then run the doctor again", "%v", err), false
		}
		d.closeKey = closeKey
		pc.Certificate = cert
		return doctor.Finding{}, true
	}
	switch {
	case d.tpm == nil:
		return doctor.Skipf("needs the TPM, which did not open"), false
	case d.stage.AtLeast(firstboot.StageRegistered):
		return doctor.Skipf("the device has registered (stage %q): its DPS key slot now holds the hub's key, which DPS does not take for a look-up", d.stage), false
	case !d.dpsKey || d.ek == nil || !d.srk:
		return doctor.Skipf("a TPM device can ask DPS only with the key of DPS's challenge, which its first registration " +
			"attempt imports, and it holds none: ask the enrollment's owner (companion, or the Azure portal)"), false
	}
	att, err := d.tpm.Attestation(ctx)
	if err != nil {
		return doctor.Failf(tpmFix(err), "%v", err), false
	}
	pc.TPM = att // the registration ID, unless the config sets one, is derived from its EK
	return doctor.Finding{}, true
}

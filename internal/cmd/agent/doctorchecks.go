package agent

import (
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/tpm"
)

// agentDoctor is one run of `oob-agent doctor`: its checks run in order, and later ones use
// what earlier ones found (the config, the open TPM, the EK).
type agentDoctor struct {
	configPath string

	// cfg is the parsed config; nil when it did not load.
	cfg *firstboot.Config
	// tpm is the open TPM; nil when it did not open or is not used.
	tpm     *tpm.TPM
	tpmInfo tpm.Info
	// tpmSkip, when set, says why the TPM checks do not apply or cannot run.
	tpmSkip string
	// ek is the persisted EK's TPM2B_PUBLIC; nil when absent or unusable.
	ek []byte
	// srk says an SRK is persisted; dpsKey says a DPS key is at 0x81000100.
	srk, dpsKey bool
	// stage is the first-boot state's stage; "" when it did not load.
	stage firstboot.Stage
	// unreachable says DPS's name did not resolve or its TLS did not verify.
	unreachable bool
	// closeKey closes the X.509 key the status look-up opened.
	closeKey func() error
}

// checks lists the doctor's checks in the order they run.
func (d *agentDoctor) checks() []doctor.Check {
	checks := []doctor.Check{
		{Name: "config", Title: "Agent config", Run: d.checkConfig},
		{Name: "tpm", Title: "TPM", Run: d.checkTPM},
		{Name: "tpm.ek", Title: "Endorsement key (0x81010001)", Run: d.checkEK},
		{Name: "tpm.ekcert", Title: "EK certificate (NV 0x01C00002)", Run: d.checkEKCert},
		{Name: "tpm.srk", Title: "Storage root key (0x81000001)", Run: d.checkSRK},
		{Name: "tpm.dpskey", Title: "DPS key slot (0x81000100)", Run: d.checkDPSKey},
		{Name: "state", Title: "First-boot state", Run: d.checkState},
		{Name: "finalize", Title: "Workload units", Run: d.checkFinalize},
	}
	checks = append(checks, d.netChecks()...)
	return append(checks, doctor.Check{Name: "dps.status", Title: "Registration at DPS", Timeout: dpsStatusTimeout, Run: d.checkDPSStatus})
}

// close closes the TPM, if it was opened.
func (d *agentDoctor) close() {
	if d.closeKey != nil {
		_ = d.closeKey()
		d.closeKey = nil
	}
	if d.tpm != nil {
		_ = d.tpm.Close()
		d.tpm = nil
	}
}

// noConfig is the finding of a check that needs the config when it did not load.
func noConfig() doctor.Finding {
	return doctor.Skipf("needs the config, which did not load")
}

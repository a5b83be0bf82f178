package agent

import (
	"context"

	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/doctor/netcheck"
	"github.com/oobtpm/oob/pkg/provision"
)

// Where the agent's config sets what the network checks reach, for their fixes.
const (
	endpointFrom = "the config's dps.endpoint"
	caFileFrom   = "the config's dps.caFile"
)

// netChecks are the shared checks of the network path to DPS (pkg/doctor/netcheck): the CA
// file, DNS, TLS with the CA in use, and this device's clock against DPS's. Their target comes
// from the config, which loads only when the checks run.
func (d *agentDoctor) netChecks() []doctor.Check {
	caFile := func(t netcheck.Target) doctor.Check { return netcheck.CAFile(t.CAFile, caFileFrom) }
	return []doctor.Check{
		d.netCheck("DPS's CA file", caFile),
		d.netCheck("DPS's name in DNS", netcheck.DNS),
		d.netCheck("TLS to DPS", netcheck.TLS),
		d.netCheck("Clock against DPS", netcheck.Clock),
	}
}

// netCheck is the check mk makes for DPS as the config names it. A DNS or TLS failure is
// remembered: the status look-up, which needs both, is then skipped.
func (d *agentDoctor) netCheck(title string, mk func(netcheck.Target) doctor.Check) doctor.Check {
	c := mk(netcheck.Target{Service: "DPS"})
	return doctor.Check{Name: c.Name, Title: title, Timeout: c.Timeout, Run: func(ctx context.Context) doctor.Finding {
		if d.cfg == nil {
			return noConfig()
		}
		endpoint := d.cfg.DPS.Endpoint
		if endpoint == "" {
			endpoint = provision.GlobalEndpoint
		}
		t, err := netcheck.ParseTarget(endpoint)
		if err != nil {
			d.unreachable = true
			return doctor.Failf("correct "+endpointFrom+": HOST, HOST:PORT or https://HOST[:PORT]", "%v", err)
		}
		t.CAFile, t.Service, t.HostFrom, t.CAFrom = d.cfg.DPS.CAFile, "DPS", endpointFrom, caFileFrom
		f := mk(t).Run(ctx)
		if f.Status == doctor.Fail && (c.Name == "dps.dns" || c.Name == "dps.tls") {
			d.unreachable = true
		}
		return f
	}}
}

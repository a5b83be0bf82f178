package netcheck

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/oobtpm/oob/pkg/doctor"
)

// DNS returns a check, named "dps.dns", that t's host resolves, and says to which addresses.
// An unknown host fails with where the name came from and how to look at this machine's DNS;
// an IP address passes without a look-up. Callers may rename the returned check.
func DNS(t Target) doctor.Check {
	return doctor.Check{
		Name:  "dps.dns",
		Title: "DNS name " + t.Host,
		Run: func(ctx context.Context) doctor.Finding {
			if net.ParseIP(t.Host) != nil {
				return doctor.Okf("%s is an IP address: nothing to resolve", t.Host)
			}
			addrs, err := t.resolver().LookupHost(ctx, t.Host)
			var de *net.DNSError
			switch {
			case errors.As(err, &de) && de.IsNotFound:
				return doctor.Failf("check "+t.hostFrom()+" for a typing error; if it is right, check this machine's DNS (getent hosts "+t.Host+", resolvectl status)",
					"%s does not resolve: no such host", t.Host)
			case err != nil:
				return doctor.Failf("check this machine's network and DNS server (resolvectl status), then run the doctor again",
					"%s could not be resolved: %v", t.Host, err)
			case len(addrs) == 0:
				return doctor.Failf("check this machine's DNS (getent hosts "+t.Host+")", "%s resolves to no address", t.Host)
			}
			return doctor.Okf("%s resolves to %s", t.Host, strings.Join(addrs, ", "))
		},
	}
}

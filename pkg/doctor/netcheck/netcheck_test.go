package netcheck_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/doctor/netcheck"
)

// The checks run against the emulator over real TLS, with its own CA.

// target is the emulator's service address, trusting its CA file.
func target(t *testing.T, e *emulatortest.Emulator) netcheck.Target {
	t.Helper()
	tg, err := netcheck.ParseTarget(e.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	tg.CAFile = filepath.Join(e.Dir, tlsca.CertFile)
	tg.Service = "DPS"
	tg.CAFrom = "--ca-file"
	return tg
}

func run(t *testing.T, c doctor.Check) doctor.Result {
	t.Helper()
	r := doctor.Run(context.Background(), []doctor.Check{c}, nil).Results[0]
	t.Logf("%s: %s: %s (fix: %s)", r.Name, r.Status, r.Detail, r.Fix)
	return r
}

func want(t *testing.T, r doctor.Result, status doctor.Status, parts ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %s, want %s: %s", r.Name, r.Status, status, r.Detail)
	}
	for _, p := range parts {
		if !strings.Contains(r.Detail+" → "+r.Fix, p) {
			t.Errorf("%s: %q lacks %q", r.Name, r.Detail+" → "+r.Fix, p)
		}
	}
}

func TestEveryCheckPassesAgainstTheEmulator(t *testing.T) {
	e := emulatortest.Start(t)
	tg := target(t, e)
	want(t, run(t, netcheck.DNS(tg)), doctor.OK, "localhost resolves to")
	want(t, run(t, netcheck.TLS(tg)), doctor.OK, "verified with the CA file "+tg.CAFile, "issued by dps-emulator local CA")
	want(t, run(t, netcheck.Clock(tg)), doctor.OK, "agrees with DPS")
}

func TestAnUnknownHostFailsSayingWhereTheNameCameFrom(t *testing.T) {
	tg := netcheck.Target{Host: "no-such-dps.invalid", HostFrom: "the connection string's HostName"}
	want(t, run(t, netcheck.DNS(tg)), doctor.Fail, "no-such-dps.invalid does not resolve", "the connection string's HostName")
}

func TestAnotherCAFailsNamingTheIssuerAndTheCAFile(t *testing.T) {
	e := emulatortest.Start(t)
	tg := target(t, e)
	// Another emulator's CA, in its own directory, as a technician pointing at the wrong one has.
	dir := t.TempDir()
	if _, err := tlsca.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	tg.CAFile = filepath.Join(dir, tlsca.CertFile)
	want(t, run(t, netcheck.TLS(tg)), doctor.Fail, "dps-emulator local CA", "the CA file "+tg.CAFile, "--ca-file")
}

func TestTheSystemsCAsRefuseAPrivateCA(t *testing.T) {
	tg := target(t, emulatortest.Start(t))
	tg.CAFile = ""
	want(t, run(t, netcheck.TLS(tg)), doctor.Fail, "the system's CAs does not hold", "private CA", "--ca-file")
}

func TestACAFileWithoutCertificatesFails(t *testing.T) {
	tg := target(t, emulatortest.Start(t))
	tg.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(tg.CAFile, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want(t, run(t, netcheck.TLS(tg)), doctor.Fail, "holds no PEM certificate", "--ca-file")
	// Without a usable CA the clock is not asked, and that is said, not failed twice.
	want(t, run(t, netcheck.Clock(tg)), doctor.Skipped, "CA file is unusable")
}

func TestNothingListeningFailsTheTLSCheckAndSkipsTheClock(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tg, err := netcheck.ParseTarget(addr)
	if err != nil {
		t.Fatal(err)
	}
	want(t, run(t, netcheck.TLS(tg)), doctor.Fail, "cannot connect to "+addr, "firewall")
	want(t, run(t, netcheck.Clock(tg)), doctor.Skipped, "could not be reached")
}

func TestAClockAnHourOffFailsSayingAheadOrBehind(t *testing.T) {
	for _, tc := range []struct {
		offset time.Duration
		status doctor.Status
		says   string
	}{
		// The emulator ahead: this machine is behind it.
		{time.Hour, doctor.Fail, "1h0m0s behind DPS"},
		{-time.Hour, doctor.Fail, "1h0m0s ahead of DPS"},
		{3 * time.Minute, doctor.Warn, "3m0s behind DPS"},
	} {
		t.Run(tc.offset.String(), func(t *testing.T) {
			e := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{ClockOffset: tc.offset})
			want(t, run(t, netcheck.Clock(target(t, e))), tc.status, tc.says, "timedatectl")
		})
	}
}

func TestParseTarget(t *testing.T) {
	for in, addr := range map[string]string{
		"my-dps.azure-devices-provisioning.net":         "my-dps.azure-devices-provisioning.net:443",
		"localhost:8443":                                "localhost:8443",
		"https://localhost:8443/":                       "localhost:8443",
		"https://global.azure-devices-provisioning.net": "global.azure-devices-provisioning.net:443",
		"[::1]:8443":                                    "[::1]:8443",
		"::1":                                           "[::1]:443",
	} {
		tg, err := netcheck.ParseTarget(in)
		if err != nil || tg.Addr() != addr {
			t.Errorf("ParseTarget(%q) = %q, %v; want %q", in, tg.Addr(), err, addr)
		}
	}
	for _, in := range []string{"", "http://localhost", "localhost:0", "localhost:99999", "localhost:x", "host/path", "https://u:p@host", ":443", "a b"} {
		if _, err := netcheck.ParseTarget(in); err == nil {
			t.Errorf("ParseTarget(%q) accepted", in)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"localhost:8443", "https://h:1/x", "[::1]:443", "::1", "http://x", "h:0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := netcheck.ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Host == "" {
			t.Fatalf("%q: accepted without a host", s)
		}
		// What is accepted parses again to itself.
		again, err := netcheck.ParseTarget(tg.Addr())
		if err != nil || again.Addr() != tg.Addr() {
			t.Fatalf("%q → %q → %q, %v", s, tg.Addr(), again.Addr(), err)
		}
	})
}

func TestACertificateForAnotherNameFails(t *testing.T) {
	// The emulator's certificate is for localhost, 127.0.0.1 and ::1; reached as 127.0.0.2 (the
	// loopback network's other address), it is the right CA's certificate for another name.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	e := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{Listener: l})
	tg := target(t, e)
	tg.Host, tg.Port, tg.HostFrom = "127.0.0.2", portOf(t, l.Addr().String()), "--endpoint"
	want(t, run(t, netcheck.TLS(tg)), doctor.Fail, "certificate is for localhost, 127.0.0.1, ::1, not 127.0.0.2", "check --endpoint")
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

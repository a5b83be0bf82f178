package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator"
	"github.com/oobtpm/oob/internal/emulator/datadir"
	"github.com/oobtpm/oob/internal/emulator/deviceapi"
	"github.com/oobtpm/oob/internal/emulator/stack"
)

// Start-up contract (scripts and CI rely on it):
//
//	dps-emulator --data DIR [--listen ADDR] [--admin-listen ADDR] [--hub-listen ADDR]
//	             [--hub-service-listen ADDR] [--hostname NAME] [--hub-hostname NAME] [--assign-delay D]
//	             [--device-retry-after D] [--clock-offset D] [fault flags]
//
// creates DIR when absent and writes there, before it reports ready: ca.pem (the CA clients
// trust; ca-key.pem beside it, 0600), service-connection-string (0600; HostName is --hostname,
// with the port unless it is 443), id-scope ("0ne" + 8 hex digits, stable across restarts),
// admin-token (0600) and emulator.db (the state). Then it prints exactly one line to stdout:
//
//	dps-emulator ready on https://ADDR (data DIR; admin http://ADDR; hub mqtts://ADDR)
//
// or, with --hub-service-listen, the same line ending "; hub mqtts://ADDR; hub service https://ADDR)",
// and logs one line per request to stderr (never keys or Authorization headers). SIGINT or
// SIGTERM shut it down cleanly, exit status 0.
//
// The same listener serves the device registration API under the ID scope: devices register with
// --hostname:port as their provisioning endpoint and the id-scope file's scope, attesting with a
// TPM, a symmetric key or an X.509 client certificate (asked for, never required, in the TLS
// handshake). A registration stays "assigning" for --assign-delay, polled at the interval
// --device-retry-after asks for (0: at once), then is assigned to the enrollment's hub or, when it names none,
// to --hub-hostname. Fault flags apply to device requests as to service ones. --clock-offset,
// for tests of clients' clock checks, shifts the emulator's clock: its answers' Date headers and
// its SAS token expiry checks follow it.
//
// The IoT hubs devices are assigned to are emulated too: IoT Hub's MQTT endpoint over TLS on
// --hub-listen (8883, IoT Hub's port, by default; "off" disables it), for every hub host name at
// once, each with a certificate for its own name issued by the emulator's CA. Only devices DPS
// assigned may connect, as the device ID DPS assigned, with the credentials they registered with
// (a TPM device signs with the hub key DPS delivered to its TPM). Host names must resolve to this
// machine (localhost does), or clients must dial the hub's address while naming the hub.
//
// With --hub-service-listen ADDR (off by default) the hubs' service REST API is served there too,
// over HTTPS with the same certificates: GET /devices/{deviceId}?api-version=… ("Devices - Get
// Identity") answers an assigned device with its live MQTT connection state, for SAS tokens of
// the policy iothubowner. Its key is made once per data directory (hub-policy-key, 0600) and
// serves every hub host name; hub-connection-string (0600) is its connection string for
// --hub-hostname, and another hub's is the same with that hub's HostName.

// Defaults. 8443 needs no privileges; run with --listen 127.0.0.1:443 for clients that only speak
// to port 443 (Microsoft's Node SDK).
const (
	defaultListen      = "127.0.0.1:8443"
	defaultAdminListen = "127.0.0.1:8444"
	defaultHubListen   = "127.0.0.1:8883"
	// defaultAssignDelay keeps a registration assigning for one poll, as the service usually does.
	defaultAssignDelay = 500 * time.Millisecond
	shutdownGrace      = 5 * time.Second
)

// usageError is a problem with the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// config is the parsed command line.
type config struct {
	dataDir     string
	listen      string
	adminListen string
	hubListen   string
	hubService  string
	hostName    string
	tlsNames    []string
	faults      emulator.FaultConfig
	hubHostName string
	assignDelay time.Duration
	retryAfter  time.Duration
	clockOffset time.Duration
}

// parseFlags reads the command line into a config.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("dps-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dataDir, "data", "", "data directory (required): state, CA, connection string, ID scope, admin token")
	fs.StringVar(&c.listen, "listen", defaultListen, "address of the HTTPS service API (port 0 picks a free port)")
	fs.StringVar(&c.adminListen, "admin-listen", defaultAdminListen, `address of the loopback-only admin API (HTTP); "off" disables it`)
	fs.StringVar(&c.hubListen, "hub-listen", defaultHubListen, `address of the emulated IoT hubs' MQTT endpoint (TLS); "off" disables it`)
	fs.StringVar(&c.hubService, "hub-service-listen", "off", `address of the emulated IoT hubs' service REST API (HTTPS), e.g. 127.0.0.1:8445; "off" (the default) disables it`)
	fs.StringVar(&c.hostName, "hostname", "localhost", "host name clients use (connection string HostName, SAS resource); also put in the server certificate")
	fs.Func("tls-name", "extra DNS name or IP address for the server certificate (repeatable)", func(s string) error {
		c.tlsNames = append(c.tlsNames, s)
		return nil
	})
	fs.StringVar(&c.hubHostName, "hub-hostname", deviceapi.DefaultHubHostName, "IoT hub devices are assigned to when their enrollment names none")
	fs.DurationVar(&c.assignDelay, "assign-delay", defaultAssignDelay, "how long a device registration stays assigning before it is decided")
	fs.DurationVar(&c.retryAfter, "device-retry-after", deviceapi.DefaultRetryAfter, "Retry-After the device API asks registering devices to poll after (whole seconds; 0 polls at once)")
	fs.DurationVar(&c.clockOffset, "clock-offset", 0, "for testing clients' clock checks only: run the emulator's clock this far ahead (e.g. 1h) or behind (-1h) of the system's; answers' Date headers and SAS token expiry follow it")
	fs.IntVar(&c.faults.ThrottleEvery, "throttle-every", 0, "answer every Nth request with 429")
	fs.Float64Var(&c.faults.ThrottleProbability, "throttle-probability", 0, "answer each request with 429 with this probability (0-1)")
	durationVar(fs, &c.faults.ThrottleFor, "throttle-for", "answer every request with 429 for this long after start")
	fs.IntVar(&c.faults.UnavailableEvery, "unavailable-every", 0, "answer every Nth request with 503")
	fs.Float64Var(&c.faults.UnavailableProbability, "unavailable-probability", 0, "answer each request with 503 with this probability (0-1)")
	durationVar(fs, &c.faults.UnavailableFor, "unavailable-for", "answer every request with 503 for this long after start")
	durationVar(fs, &c.faults.RetryAfter, "retry-after", "Retry-After of 429 and 503 answers (default 1s)")
	durationVar(fs, &c.faults.Latency, "latency", "delay every request by this much")
	durationVar(fs, &c.faults.LatencyJitter, "latency-jitter", "add up to this much random delay to every request")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return c, err // the help is printed; exit 0 as the other programs do
	} else if err != nil {
		return c, &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return c, &usageError{msg: "unexpected arguments: " + strings.Join(fs.Args(), " ")}
	}
	if c.dataDir == "" {
		return c, &usageError{msg: "--data DIR is required"}
	}
	if c.hubService != "off" && c.hubListen == "off" {
		return c, &usageError{msg: "--hub-service-listen needs the hub: give --hub-listen too"}
	}
	if c.assignDelay < 0 || c.retryAfter < 0 {
		return c, &usageError{msg: "--assign-delay and --device-retry-after must not be negative"}
	}
	if err := c.faults.Validate(); err != nil {
		return c, &usageError{msg: err.Error()}
	}
	return c, nil
}

// deviceRetryAfter is the API's RetryAfter for --device-retry-after d: 0 asks devices to poll
// again at once.
func deviceRetryAfter(d time.Duration) time.Duration {
	if d == 0 {
		return deviceapi.PollAtOnce
	}
	return d
}

func durationVar(fs *flag.FlagSet, d *emulator.Duration, name, usage string) {
	fs.Func(name, usage+" (e.g. 250ms, 30s)", func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = emulator.Duration(v)
		return nil
	})
}

// run starts the emulator and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := stack.Start(ctx, stack.Config{
		DataDir: c.dataDir, Listen: c.listen, HostName: c.hostName, TLSNames: c.tlsNames,
		AdminListen: enabled(c.adminListen), HubListen: enabled(c.hubListen), HubServiceListen: enabled(c.hubService),
		Faults: c.faults, HubHostName: c.hubHostName, AssignDelay: c.assignDelay, RetryAfter: deviceRetryAfter(c.retryAfter),
		ClockOffset: c.clockOffset, Logger: log,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := datadir.WriteStartupFiles(st.Dir, st.HostName, st.Identity); err != nil {
		return err
	}
	if st.HubServiceAddr != nil {
		if err := datadir.WriteHubConnectionString(st.Dir, c.hubHostName, st.HubPolicyKey); err != nil {
			return err
		}
	}
	adminNote, hubNote := "admin off", "hub off"
	if st.AdminAddr != nil {
		adminNote = "admin http://" + st.AdminAddr.String()
	}
	if st.HubAddr != nil {
		hubNote = "hub mqtts://" + st.HubAddr.String()
	}
	if st.HubServiceAddr != nil {
		hubNote += "; hub service https://" + st.HubServiceAddr.String()
	}
	log.Info("serving", "listen", st.Addr.String(), "hostname", st.HostName, "idScope", st.Identity.IDScope, "data", st.Dir)
	fmt.Fprintf(stdout, "dps-emulator ready on https://%s (data %s; %s; %s)\n", st.Addr, st.Dir, adminNote, hubNote)

	select {
	case <-ctx.Done():
	case err := <-st.Err():
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := st.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return nil
}

// enabled is a listen flag's address, empty for "off".
func enabled(addr string) string {
	if addr == "off" {
		return ""
	}
	return addr
}

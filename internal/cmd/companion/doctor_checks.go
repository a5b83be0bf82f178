package companion

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/internal/cli/dpsflags"
	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/camera"
	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/doctor/netcheck"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/sas"
)

// caFrom is how the companion is given a CA file, for the checks' fixes.
const caFrom = "--ca-file FILE or $" + dpsflags.EnvCAFile

// probeID is the registration ID the credentials check reads: one no device has, so that DPS's
// 404 proves the key was accepted without reading anyone's enrollment.
const probeID = "companion-doctor-probe"

// doctorChecks returns the checks in the order they run. The connection string is read first,
// since the DPS checks need its host name; a mistake in it is the first check's finding, not an
// error, so the other checks still run.
func doctorChecks(opts *DoctorOptions) ([]doctor.Check, error) {
	cs, csFinding := readConnectionString(opts.Service.ConnectionStringFile)
	checks := []doctor.Check{
		found("dps.connection-string", "DPS connection string", csFinding),
		netcheck.CAFile(opts.Service.CAFile, caFrom),
	}
	var tg *netcheck.Target
	switch {
	case opts.Service.Endpoint != "":
		t, err := netcheck.ParseTarget(opts.Service.Endpoint)
		if err != nil {
			return nil, cli.Usagef("--endpoint: %v", err)
		}
		t.HostFrom = "--endpoint"
		tg = &t
	case cs != nil:
		t, err := netcheck.ParseTarget(cs.HostName)
		if err != nil {
			// ParseConnectionString checked the host name; this is a form it allows and the
			// checks cannot reach.
			csFinding = doctor.Failf("give the DPS host with --endpoint HOST[:PORT]", "the connection string's HostName: %v", err)
			checks[0] = found("dps.connection-string", "DPS connection string", csFinding)
			break
		}
		t.HostFrom = "the connection string's HostName"
		tg = &t
	}
	if tg == nil {
		why := doctor.Skipf("no DPS host to look at: the connection string is missing or unusable")
		checks = append(checks, found("dps.dns", "DNS name", why), found("dps.tls", "TLS", why),
			found("dps.clock", "Clock against DPS", why))
	} else {
		tg.CAFile, tg.CAFrom, tg.Service = opts.Service.CAFile, caFrom, "DPS"
		checks = append(checks, netcheck.DNS(*tg), netcheck.TLS(*tg), netcheck.Clock(*tg))
	}
	checks = append(checks, credentialsCheck(cs, opts.Service))
	jl := &journalLook{path: opts.Journal}
	checks = append(checks,
		doctor.Check{Name: "journal.pending", Title: "Journal: enrollments to send", Run: jl.pendingCheck},
		doctor.Check{Name: "journal.conflicts", Title: "Journal: conflicts", Run: jl.conflictsCheck},
		camerasCheck(opts),
		ffmpegCheck(),
	)
	for i := range checks {
		checks[i].Timeout = opts.Timeout
	}
	return checks, nil
}

// found is a check whose finding is already known.
func found(name, title string, f doctor.Finding) doctor.Check {
	return doctor.Check{Name: name, Title: title, Run: func(context.Context) doctor.Finding { return f }}
}

// readConnectionString reads and parses the connection string as the service commands do, and
// says what it found. The key is never part of a finding: neither cli.Secret's nor
// sas.ParseConnectionString's errors carry it.
func readConnectionString(file string) (*sas.ConnectionString, doctor.Finding) {
	from := "$" + dpsflags.EnvConnectionString
	if file != "" {
		from = file
	}
	secret, err := cli.Secret(dpsflags.EnvConnectionString, file)
	if err != nil {
		return nil, doctor.Failf("give the connection string in a file only you can read (chmod 600) with --connection-string-file", "%v", err)
	}
	if secret == nil {
		return nil, doctor.Failf("set $"+dpsflags.EnvConnectionString+" or pass --connection-string-file FILE (mode 0600): copy it from the Azure portal (the DPS instance → Shared access policies); the emulator writes one to DIR/service-connection-string",
			"no connection string: $%s is not set and no --connection-string-file was given", dpsflags.EnvConnectionString)
	}
	cs, err := sas.ParseConnectionString(string(secret))
	if err != nil {
		return nil, doctor.Failf("fix the connection string in "+from, "the connection string in %s is unusable: %v", from, err)
	}
	return &cs, doctor.Okf("from %s: HostName %s, policy %s (key not shown)", from, cs.HostName, cs.KeyName)
}

// credentialsCheck reads one enrollment that does not exist: DPS answers 404 only to a token
// signed with the policy's key.
func credentialsCheck(cs *sas.ConnectionString, svc dpsflags.Flags) doctor.Check {
	return doctor.Check{Name: "dps.credentials", Title: "DPS accepts the key", Run: func(ctx context.Context) doctor.Finding {
		if cs == nil {
			return doctor.Skipf("no usable connection string")
		}
		opts := dps.Options{Endpoint: svc.Endpoint, Retry: retry.Policy{MaxAttempts: 1}}
		if svc.CAFile != "" {
			pool, err := cafile.Load(svc.CAFile)
			if err != nil {
				return doctor.Skipf("the CA file is unusable (see the CA file check)")
			}
			opts.RootCAs = pool
		}
		c, err := dps.New(*cs, opts)
		if err != nil {
			return doctor.Failf("give the DPS host with --endpoint HOST[:PORT]", "%v", err)
		}
		_, err = c.GetEnrollment(ctx, probeID)
		var de *dps.Error
		msg := ""
		if errors.As(err, &de) && de.Message != "" {
			msg = ": " + de.Message
		}
		switch {
		case err == nil, errors.Is(err, dps.ErrNotFound):
			return doctor.Okf("DPS accepted policy %s's key (a read of enrollment %s answered as it should)", cs.KeyName, probeID)
		case errors.Is(err, dps.ErrUnauthorized):
			return doctor.Failf("copy the connection string again from the Azure portal (the DPS instance → Shared access policies → "+cs.KeyName+"); if the clock check failed, set the clock first",
				"DPS refused policy %s's key (401%s)", cs.KeyName, msg)
		case errors.Is(err, dps.ErrForbidden):
			return doctor.Failf("use a policy with Enrollment read and write permissions, such as "+sas.DefaultPolicyName,
				"policy %s may not read enrollments (403%s)", cs.KeyName, msg)
		}
		return doctor.Failf("see the DNS, TLS and clock checks above; if they pass, try again later",
			"the read was not answered: %v", err)
	}}
}

// camerasCheck lists the V4L2 cameras, or the one --camera names, and the mode a scan picks.
func camerasCheck(opts *DoctorOptions) doctor.Check {
	pattern := opts.cameras
	if pattern == "" {
		pattern = camera.DefaultDevices
	}
	if opts.Camera != "" {
		pattern = opts.Camera
	}
	return doctor.Check{Name: "cameras", Title: "Cameras", Run: func(context.Context) doctor.Finding {
		list, err := camera.FindWebcams(pattern)
		if errors.Is(err, camera.ErrUnsupported) {
			return doctor.Skipf("%v", err)
		}
		if err != nil {
			return doctor.Failf("give --camera a device file, e.g. /dev/video0", "%v", err)
		}
		if len(list) == 0 {
			if opts.Camera != "" {
				return doctor.Failf("check the device file (ls /dev/video*), or leave out --camera to look at every one",
					"no camera at %s", opts.Camera)
			}
			return doctor.Warnf("plug in a USB webcam (it appears as /dev/video0; you must be in the video group to read it), or scan recorded codes with companion scan --images DIR or --video FILE",
				"no camera found (looked for %s)", pattern)
		}
		var good, bad []string
		for _, f := range list {
			if f.Err != nil {
				bad = append(bad, f.Err.Error())
				continue
			}
			good = append(good, fmt.Sprintf("%s: a scan reads %s (offers %s)", f.Device, f.Mode, offerList(f.Offers)))
		}
		if len(good) == 0 {
			fix := "check that it is a camera and that you may read it (users are usually in the video group), or choose another with --camera"
			if opts.Camera != "" {
				return doctor.Failf(fix, "%s", strings.Join(bad, "; "))
			}
			return doctor.Warnf(fix, "no usable camera: %s", strings.Join(bad, "; "))
		}
		detail := strings.Join(good, "; ")
		if len(bad) > 0 {
			// A camera's second device file is usually its metadata node, never a capture one.
			detail += fmt.Sprintf("; %d other device file(s) are not usable cameras", len(bad))
		}
		return doctor.Okf("%s", detail)
	}}
}

// offerList names the formats and sizes offered, briefly.
func offerList(offers []camera.Offer) string {
	var out []string
	for _, o := range offers {
		out = append(out, fmt.Sprintf("%s %s", o.Format, o.Size))
	}
	if len(out) > 6 {
		out = append(out[:6], fmt.Sprintf("and %d more", len(out)-6))
	}
	return strings.Join(out, ", ")
}

// ffmpegCheck finds ffmpeg on PATH and asks its version.
func ffmpegCheck() doctor.Check {
	return doctor.Check{Name: "ffmpeg", Title: "ffmpeg", Run: func(ctx context.Context) doctor.Finding {
		const why = "companion scan --video and --ffmpeg-input (cameras on macOS and Windows) need it; V4L2 cameras on Linux are read without it"
		path, err := exec.LookPath("ffmpeg")
		if err != nil {
			return doctor.Warnf("install ffmpeg (Debian: apt install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg)",
				"ffmpeg is not on PATH: %s", why)
		}
		out, err := exec.CommandContext(ctx, path, "-hide_banner", "-version").Output()
		first, _, _ := strings.Cut(string(out), "\n")
		if err != nil || !strings.HasPrefix(first, "ffmpeg version ") {
			return doctor.Warnf("reinstall ffmpeg: "+why, "%s does not answer -version as ffmpeg does (%v)", path, err)
		}
		version, _, _ := strings.Cut(strings.TrimPrefix(first, "ffmpeg version "), " ")
		return doctor.Okf("ffmpeg %s at %s", version, path)
	}}
}

package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/oobtpm/oob/pkg/doctor"
	"github.com/oobtpm/oob/pkg/finalize"
	"github.com/oobtpm/oob/pkg/firstboot"
)

// checkConfig loads the config as `oob-agent run` does.
func (d *agentDoctor) checkConfig(context.Context) doctor.Finding {
	cfg, err := firstboot.LoadConfig(d.configPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return doctor.Failf("write the agent's config there (docs/deploy.md shows one), or give its path with --config",
			"%v", err)
	case errors.Is(err, fs.ErrPermission):
		return doctor.Failf("run the doctor as the agent runs (root), or make the config readable to this user", "%v", err)
	case err != nil:
		return doctor.Failf("correct the config as the message says, then run the doctor again", "%v", err)
	}
	d.cfg = cfg
	how := "its TPM (" + cfg.TPM.Path + ")"
	if x := cfg.X509; x != nil {
		how = "its X.509 certificate " + x.CertificateFile
	}
	endpoint := cfg.DPS.Endpoint
	if endpoint == "" {
		endpoint = "the global endpoint"
	}
	return doctor.Okf("%s: ID scope %s at %s; the device registers with %s", d.configPath, cfg.DPS.IDScope, endpoint, how)
}

// checkState reads the first-boot state as the agent does when it starts.
func (d *agentDoctor) checkState(context.Context) doctor.Finding {
	if d.cfg == nil {
		return noConfig()
	}
	dir := d.cfg.StateDir
	st, err := firstboot.LoadState(dir)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return doctor.Failf("run the doctor as the agent runs (root)", "%v", err)
		}
		file := filepath.Join(dir, firstboot.StateFile)
		return doctor.Failf(fmt.Sprintf("move it away (mv %s %s.damaged): the agent then starts the first boot again and shows the device's code", file, file),
			"%s is damaged, and the agent stops on it: %v", file, err)
	}
	d.stage = st.Stage
	switch st.Stage {
	case firstboot.StageNew:
		return doctor.Okf("none in %s: a new device; the first boot starts from the beginning", dir)
	case firstboot.StageFinalized:
		return doctor.Okf("finalized (%s): the first boot is over and the agent does not run again", dir)
	}
	var about []string
	if st.RegistrationID != "" {
		about = append(about, "registration ID "+st.RegistrationID)
	}
	if st.AssignedHub != "" {
		about = append(about, "hub "+st.AssignedHub)
	}
	if st.Attempts > 0 {
		about = append(about, fmt.Sprintf("%d registration attempts", st.Attempts))
	}
	detail := fmt.Sprintf("stage %q in %s", st.Stage, dir)
	if len(about) > 0 {
		detail += " (" + strings.Join(about, ", ") + ")"
	}
	return doctor.Okf("%s: the agent resumes there", detail)
}

// checkFinalize checks the units the finalize step enables, changing nothing.
func (d *agentDoctor) checkFinalize(ctx context.Context) doctor.Finding {
	if d.cfg == nil {
		return noConfig()
	}
	fin, err := newFinalizer(d.cfg, "", nil)
	if err != nil {
		return doctor.Failf("correct the config's \"finalize\" section as the message says", "%v", err)
	}
	if fin == nil {
		return doctor.Okf("no \"finalize\" section: the first boot ends once the hub accepted the device")
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		return doctor.Failf("install systemd (its systemctl switches the workload's units), or remove the config's \"finalize\" section",
			"systemctl is not installed, and the finalize step needs it")
	}
	var found, problems []string
	var first error
	for _, u := range fin.Check(ctx) {
		if u.Err != nil {
			problems = append(problems, u.Err.Error())
			if first == nil {
				first = u.Err
			}
			continue
		}
		found = append(found, u.Unit+" "+u.State)
	}
	if first != nil {
		return doctor.Failf(unitFix(first), "%s", strings.Join(problems, "; "))
	}
	if len(found) == 0 {
		return doctor.Okf("nothing to enable; the finalize step only disables the agent's units")
	}
	return doctor.Okf("%s: each can be enabled at the end of the first boot", strings.Join(found, ", "))
}

// unitFix says what to do about a unit the finalize step cannot enable.
func unitFix(err error) string {
	var ue *finalize.UnitError
	unit := "the unit"
	if errors.As(err, &ue) {
		unit = ue.Unit
	}
	switch {
	case errors.Is(err, finalize.ErrMasked):
		return fmt.Sprintf("unmask it (systemctl unmask %s; systemctl --root DIR unmask in an image), then run the doctor again", unit)
	case errors.Is(err, finalize.ErrUnitNotFound):
		return fmt.Sprintf("install %s's unit file in the image (/usr/lib/systemd/system or /etc/systemd/system), or correct its name in the config's \"finalize\" section", unit)
	case errors.Is(err, finalize.ErrNoInstall):
		return fmt.Sprintf("give %s an [Install] section (WantedBy=multi-user.target), or remove it from \"enable\"", unit)
	}
	return "fix the unit as the message says, then run the doctor again"
}

package agent

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/doctor"
)

// DoctorOptions are the inputs of `oob-agent doctor`.
type DoctorOptions struct {
	IO     *cli.IOStreams
	Config string
	Format *cli.FormatFlag
}

// NewCmdDoctor returns `oob-agent doctor`.
func NewCmdDoctor(ios *cli.IOStreams) *cobra.Command {
	opts := &DoctorOptions{IO: ios, Format: cli.NewFormatFlag(cli.FormatText, cli.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "doctor [--config FILE]",
		Short: "Find out why this device cannot onboard: check its TPM, config, state, units and DPS",
		Long: `Check, one by one, what the first boot needs, and say for each what was found and,
when it blocks onboarding, what to do. The doctor only looks: it creates no key in the
TPM, writes no state and enables no unit, so it is safe to run at any time, also while
the agent's service runs (stop the service first on a TPM that takes one client at a
time, such as swtpm).

It checks, in order:
  config      the config file parses (its errors say what to fix)
  tpm         the TPM the config names answers as a TPM 2.0; its maker and firmware
  tpm.ek      the endorsement key at 0x81010001: the TCG's standard RSA-2048 template,
              which DPS expects, or absent (the agent then creates it)
  tpm.ekcert  the EK certificate in NV 0x01C00002 and whether it certifies that EK
  tpm.srk     the storage root key at 0x81000001: the standard template, which DPS
              seals its key to, or absent (the agent then creates it)
  tpm.dpskey  the DPS key slot 0x81000100: empty before a registration, an HMAC key
              after one, never another program's object
  state       the first-boot state: its stage, or damaged
  finalize    the workload units exist, can be enabled and are not masked
  ca.file     the config's dps.caFile, when set: PEM certificates, none expired
  dps.dns     DPS's host name (dps.endpoint) resolves
  dps.tls     TLS to DPS verifies with the CA in use (dps.caFile, else the system's)
  dps.clock   this device's clock agrees with DPS's (its tokens expire by it)
  dps.status  what DPS decided about this device, when the device can ask: with its
              X.509 certificate, or with the key of DPS's challenge that a refused or
              unfinished TPM registration left in the DPS key slot
A device that attests with an X.509 certificate skips the EK, SRK and DPS key checks.

Each line starts with ✔ (fine), ! (onboarding goes on, but something is off),
✘ (blocks onboarding; the line below says what to do) or – (not checked, and why).
--format json prints {"blocked": bool, "checks": [{name, title, status, detail, fix}]}.

Exit status: 0 nothing blocks onboarding (warnings may remain); 1 a check failed
(a ✘ line); 2 usage.`,
		Example: `  oob-agent doctor
  oob-agent doctor --config ./agent.json --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", DefaultConfig, "the agent's config file")
	cmd.Flags().Var(opts.Format, "format", opts.Format.Usage())
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	d := &agentDoctor{configPath: opts.Config}
	defer d.close()
	var progress func(doctor.Result)
	if opts.Format.Value == cli.FormatText {
		progress = func(r doctor.Result) { _ = doctor.WriteLine(opts.IO.Out, r) }
	}
	rep := doctor.Run(ctx, d.checks(), progress)
	var err error
	if opts.Format.Value == cli.FormatJSON {
		err = rep.WriteJSON(opts.IO.Out)
	} else {
		err = rep.WriteSummary(opts.IO.Out)
	}
	if err != nil {
		return err
	}
	if rep.Blocked() {
		return cli.ErrSilent
	}
	return nil
}

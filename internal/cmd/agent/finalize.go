package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/oobtpm/oob/internal/cli"
	"github.com/oobtpm/oob/pkg/finalize"
	"github.com/oobtpm/oob/pkg/firstboot"
)

// newFinalizer builds the finalize step from the config's "finalize" section: an object in
// pkg/finalize's format, or the path of a file in it (such as the original sample's
// finalize.config.json). root, when set, overrides the section's offline root. A config without
// the section has no finalize step: the first boot ends once the hub accepted the device.
func newFinalizer(cfg *firstboot.Config, root string, log *slog.Logger) (*finalize.Finalizer, error) {
	fc, err := finalizeConfig(cfg)
	if err != nil || fc == nil {
		return nil, err
	}
	if root != "" {
		fc.Root = root
	}
	return finalize.New(*fc, finalize.Options{Logger: log})
}

func finalizeConfig(cfg *firstboot.Config) (*finalize.Config, error) {
	raw := cfg.Finalize
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var path string
	if json.Unmarshal(raw, &path) == nil {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: finalize: %w", err)
		}
		raw = b
	}
	fc, err := finalize.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("config: finalize: %w", err)
	}
	return &fc, nil
}

// FinalizeOptions are the inputs of `oob-agent finalize`.
type FinalizeOptions struct {
	IO     *cli.IOStreams
	Config string
	Root   string
	DryRun bool
}

// NewCmdFinalize returns `oob-agent finalize`.
func NewCmdFinalize(ios *cli.IOStreams) *cobra.Command {
	opts := &FinalizeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "finalize",
		Short: "Hand the device over to its workload: the first boot's last step, alone",
		Long: `Run the finalize step as the first boot does once the device works: enable (and start)
the workload units, record the device as finalized, disable the agent's unit, reboot, as
the config's "finalize" section says. Every step is safe to repeat, so this completes a
hand-over a power cut interrupted, or redoes one after a unit was fixed.

--root DIR works on an offline root (an image being built): units are switched with
systemctl --root, nothing is started and this machine is not rebooted. --dry-run prints
the steps without taking them.`,
		Example: `  oob-agent finalize --dry-run
  oob-agent finalize --config $ROOT/etc/oob/agent.json --root $ROOT`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return finalizeRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", DefaultConfig, "the agent's config file")
	cmd.Flags().StringVar(&opts.Root, "root", "", "an offline root directory to finalize instead of this system")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the steps without taking them")
	return cmd
}

func finalizeRun(ctx context.Context, opts *FinalizeOptions) error {
	cfg, err := firstboot.LoadConfig(opts.Config)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fin, err := newFinalizer(cfg, opts.Root, log)
	if err != nil {
		return err
	}
	if fin == nil {
		return fmt.Errorf("config %s has no \"finalize\" section: nothing to do", opts.Config)
	}
	if opts.DryRun {
		for i, s := range fin.Plan() {
			fmt.Fprintf(opts.IO.Out, "%d. %s\n", i+1, s)
		}
		return nil
	}
	err = fin.Run(ctx, func(context.Context) error {
		st, err := firstboot.LoadState(cfg.StateDir)
		if err != nil {
			return err
		}
		st.Stage, st.Updated = firstboot.StageFinalized, time.Now().UTC()
		return firstboot.SaveState(cfg.StateDir, st)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.Out, "finalized")
	return nil
}

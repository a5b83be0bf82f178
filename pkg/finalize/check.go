package finalize

import "context"

// UnitState is a workload unit as Check found it.
type UnitState struct {
	Unit string
	// State is the unit file's state as systemctl is-enabled prints it ("disabled",
	// "enabled", "masked", …), "" when there is no unit file.
	State string
	// Err, a *UnitError, says why the unit cannot be enabled; nil when it can.
	Err error
}

// Check looks, changing nothing, at whether each workload unit can be enabled, as the plan's
// check steps do. It reads the unit files on disk under the config's Root, or under / for a
// live system (systemctl --root), so that it answers the same whether or not systemd runs.
func (f *Finalizer) Check(ctx context.Context) []UnitState {
	root := f.cfg.Root
	if root == "" {
		root = "/"
	}
	sd := systemctl{path: f.opts.Systemctl, root: root}
	var out []UnitState
	for _, u := range f.cfg.Enable {
		st := UnitState{Unit: u}
		state, err := sd.state(ctx, u)
		if err == nil {
			st.State = state
			err = enableable(state)
		}
		if err != nil {
			st.Err = &UnitError{Action: ActionCheck, Unit: u, Err: err}
		}
		out = append(out, st)
	}
	return out
}

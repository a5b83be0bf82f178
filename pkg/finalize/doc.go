// Package finalize hands a provisioned device over to its real workload through systemd: it
// enables the workload's units, has the caller record the device as finalized, disables the
// agent's own units and reboots, each step safe to repeat after a crash or a power cut.
package finalize

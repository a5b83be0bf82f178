//go:build cgo

// First boot in process: the go-tpm-tools simulator as the TPM (kept across "reboots", as a TPM
// keeps its state), the emulator and its hub over real TLS, and a finalizer that records what it
// was asked to do. A crash is a checkpoint that ends the run's goroutine on the spot; the next Run
// on the same state directory must converge. The binary-level kill tests (internal/e2e) remain the
// proof with real processes and systemd; these cover every stage quickly.
package firstboot_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/oobtpm/oob/internal/ektest"
	"github.com/oobtpm/oob/internal/emulatortest"
	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/firstboot"
	"github.com/oobtpm/oob/pkg/identity"
	"github.com/oobtpm/oob/pkg/tpm"
)

// keptOpen is the simulator as a device node: closing the agent's handle leaves the TPM running.
type keptOpen struct{ io.ReadWriter }

func (keptOpen) Close() error { return nil }

// device is one board: a TPM that outlives each boot, and its state directory.
type device struct {
	sim      *simulator.Simulator
	stateDir string
	png      string
}

var simMu sync.Mutex // the simulator is one per process

func newDevice(t *testing.T) *device {
	t.Helper()
	simMu.Lock()
	t.Cleanup(simMu.Unlock)
	s, err := simulator.Get()
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	dir := t.TempDir()
	return &device{sim: s, stateDir: filepath.Join(dir, "state"), png: filepath.Join(dir, "screen.png")}
}

func (d *device) open(ctx context.Context) (*tpm.TPM, error) {
	return tpm.Open(ctx, tpm.Config{Transport: transport.FromReadWriteCloser(keptOpen{d.sim})})
}

// ek reads the device's EK as the technician's companion would from its code.
func (d *device) ek(t *testing.T) []byte {
	t.Helper()
	dev, err := d.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	a, err := dev.Attestation(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return a.EndorsementKey()
}

type rig struct {
	emu    *emulatortest.Emulator
	client *dps.Client
	cfg    *firstboot.Config
	dev    *device
	fin    *recorder
}

func newRig(t *testing.T) *rig {
	t.Helper()
	hub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu := emulatortest.StartWith(t, t.TempDir(), emulatortest.Options{HubListener: hub, HubHostName: "hub-1.localhost"})
	dev := newDevice(t)
	// The config as a device maker writes it, through the agent's own parser and its defaults.
	cfg, err := firstboot.ParseConfig(fmt.Appendf(nil, `{
		"version": 1,
		"dps": {"idScope": %q, "endpoint": %q, "caFile": %q},
		"hub": {"address": %q},
		"display": {"outputs": ["png"], "png": %q},
		"retry": {"initial": "500ms", "max": "500ms"},
		"stateDir": %q
	}`, emu.IDScope, emu.Endpoint, filepath.Join(emu.Dir, "ca.pem"), hub.Addr().String(), dev.png, dev.stateDir))
	if err != nil {
		t.Fatal(err)
	}
	return &rig{emu: emu, client: emu.Client(t, dps.Options{}), cfg: cfg, dev: dev, fin: &recorder{}}
}

// boot runs the agent once. crashAt, when set, ends the run at that checkpoint as a power cut
// would: nothing after it happens.
func (r *rig) boot(ctx context.Context, crashAt string) (firstboot.State, error, bool) {
	type result struct {
		st  firstboot.State
		err error
	}
	done := make(chan result, 1)
	crashed := make(chan struct{})
	go func() {
		st, err := firstboot.Run(ctx, r.cfg, firstboot.Options{
			OpenTPM:   r.dev.open,
			Finalizer: r.fin,
			PollSleep: noWait,
			Checkpoint: func(point string) {
				if point == crashAt {
					close(crashed)
					runtime.Goexit()
				}
			},
		})
		done <- result{st, err}
	}()
	select {
	case res := <-done:
		return res.st, res.err, false
	case <-crashed:
		return firstboot.State{}, nil, true
	}
}

func (r *rig) enroll(t *testing.T, enabled bool) string {
	t.Helper()
	ek := r.dev.ek(t)
	id := identity.DeriveRegistrationID(ek)
	e := ektest.Enrollment(id, ek)
	if !enabled {
		e.ProvisioningStatus = dpsapi.StatusDisabled
	}
	if _, err := r.client.CreateOrUpdateEnrollment(t.Context(), e, ""); err != nil {
		t.Fatal(err)
	}
	return id
}

// The whole first boot, enrolled beforehand: every stage reached, the workload handed over once,
// the device registered once and known to its hub.
func TestRunToFinalized(t *testing.T) {
	r := newRig(t)
	id := r.enroll(t, true)
	st, err, _ := r.boot(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if st.Stage != firstboot.StageFinalized || st.RegistrationID != id || st.AssignedHub != "hub-1.localhost" || st.DeviceID != id {
		t.Fatalf("state %+v", st)
	}
	if r.fin.enabled != 1 || r.fin.finalized != 1 {
		t.Errorf("finalizer ran %d times, finalized %d", r.fin.enabled, r.fin.finalized)
	}
	if _, err := os.Stat(r.dev.png); err != nil {
		t.Errorf("the code was never shown: %v", err)
	}
	if _, ok := r.emu.Hub.Twin("hub-1.localhost", id); !ok {
		t.Error("the hub has no twin for the device: it never connected")
	}
	// A finalized device does nothing on the next boot.
	again, err, _ := r.boot(t.Context(), "")
	if err != nil || again.Stage != firstboot.StageFinalized || r.fin.enabled != 1 {
		t.Errorf("second boot: %+v, %v, finalizer runs %d", again, err, r.fin.enabled)
	}
}

// A power cut at each checkpoint, then a fresh boot on the same TPM and state: the device always
// ends finalized, with its registration on DPS and the workload handed over before the mark.
func TestRunSurvivesACrashAtEveryCheckpoint(t *testing.T) {
	points := []string{
		string(firstboot.StageIdentity), string(firstboot.StageShown), string(firstboot.StageRegistered),
		string(firstboot.StageConnected), firstboot.CheckpointWorkloadEnabled, string(firstboot.StageFinalized),
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			r := newRig(t)
			id := r.enroll(t, true)
			if _, err, crashed := r.boot(t.Context(), point); !crashed {
				t.Fatalf("the run never reached checkpoint %s (err %v)", point, err)
			}
			st, err, _ := r.boot(t.Context(), "")
			if err != nil {
				t.Fatalf("boot after the crash: %v", err)
			}
			if st.Stage != firstboot.StageFinalized || st.DeviceID != id {
				t.Fatalf("after the crash at %s: state %+v", point, st)
			}
			// Crashed after the mark, before the agent's unit was disabled and the reboot asked
			// for, the reboot is owed: the next boot runs the finalizer's steps again (the mark a
			// no-op) and pays it. Every way, the finalizer completes once after the crash.
			if r.fin.enabled < 1 || r.fin.finalized != 1 {
				t.Errorf("workload enabled %d times, finalize completed %d times; want at least once and once", r.fin.enabled, r.fin.finalized)
			}
			if _, err := os.Stat(filepath.Join(r.dev.stateDir, firstboot.RebootOwedFile)); err == nil {
				t.Error("a reboot is still owed after the hand-over")
			}
			// And once handed over, a boot does nothing at all.
			before := r.fin.enabled
			if st, err, _ := r.boot(t.Context(), ""); err != nil || st.Stage != firstboot.StageFinalized || r.fin.enabled != before {
				t.Errorf("a boot after the hand-over: %+v %v, finalizer ran %d more times", st, err, r.fin.enabled-before)
			}
			reg, err := r.client.GetRegistrationState(t.Context(), id)
			if err != nil || reg.AssignedHub != "hub-1.localhost" {
				t.Errorf("DPS's registration: %+v, %v", reg, err)
			}
		})
	}
}

// Not enrolled, then enrolled disabled: the agent waits, saying why on its control socket (what
// `oob-agent done` prints); enabled, it finishes. Each nudge asks for an attempt now, as the
// operator's Enter or `oob-agent done` does.
func TestRunWaitsUntilEnrolledAndEnabled(t *testing.T) {
	r := newRig(t)
	done := make(chan error, 1)
	go func() {
		_, err, _ := r.boot(t.Context(), "")
		done <- err
	}()
	waitStatus(t, r.dev.stateDir, done, "Waiting for enrollment")
	id := r.enroll(t, false)
	waitStatus(t, r.dev.stateDir, done, "Enrollment disabled")
	if _, err := r.client.SetEnrollmentStatus(t.Context(), id, true); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			st, err := firstboot.LoadState(r.dev.stateDir)
			if err != nil || st.Stage != firstboot.StageFinalized || st.Attempts < 2 {
				t.Fatalf("after enabling: %+v, %v", st, err)
			}
			return
		case <-time.After(100 * time.Millisecond):
			_, _ = firstboot.Nudge(t.Context(), r.dev.stateDir)
		}
	}
}

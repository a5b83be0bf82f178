package firstboot

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oobtpm/oob/pkg/cafile"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/hubclient"
	"github.com/oobtpm/oob/pkg/onboard"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/retry"
	"github.com/oobtpm/oob/pkg/tpm"
)

// Finalizer hands the device over to its workload (pkg/finalize): it enables the workload, calls
// markFinalized, disables the agent and reboots, each step safe to repeat.
type Finalizer interface {
	Run(ctx context.Context, markFinalized func(context.Context) error) error
}

// Options are what Run needs besides the config.
type Options struct {
	// OpenTPM opens the device's TPM; the command opens cfg.TPM with its passwords.
	OpenTPM func(ctx context.Context) (*tpm.TPM, error)
	// OpenX509Key gives the private key of the device's certificate when the config has an
	// "x509" section: the TPM's key for "tpm", else the key file it names. close is called
	// when Run ends.
	OpenX509Key func(ctx context.Context, cfg *X509Config) (key crypto.Signer, close func() error, err error)
	// Terminal is the console to draw on when the config lists the terminal output.
	Terminal *Terminal
	// Trigger wakes a waiting agent for an attempt now (Enter on the console).
	Trigger <-chan struct{}
	// Finalizer finalizes the device once it works; nil stops at hub-connected.
	Finalizer Finalizer
	Logger    *slog.Logger
	// Checkpoint, when set, is called at each point a crash must be survivable: after each stage
	// is saved (with the stage's name) and in the middle of finalizing, after the workload is
	// enabled and before the device is marked finalized (CheckpointWorkloadEnabled). Crash tests
	// kill the process there.
	Checkpoint func(point string)
}

// CheckpointWorkloadEnabled is the checkpoint in the middle of finalizing.
const CheckpointWorkloadEnabled = "workload-enabled"

// Screen messages, in words a technician can act on.
const (
	msgWaiting    = "Waiting for enrollment: scan this code with the companion"
	msgDisabled   = "Enrollment disabled: waiting for activation"
	msgFinalizing = "Onboarding done: handing over to the device's software"
	// An X.509 device is pre-enrolled by its factory and activated by its buyer.
	msgRegistering    = "Registering with DPS"
	msgNotPreEnrolled = "Not enrolled in DPS: waiting for the factory's enrollment"
)

// DesiredFile, in the state directory, holds the twin's desired properties as the device read
// them when it first connected (the activation's metadata), for the device's software.
const DesiredFile = "desired.json"

// Run takes the device through its first boot until it is finalized (or, without a Finalizer,
// connected to its hub), resuming from the state in cfg.StateDir. A finalized device returns at
// once without showing anything. It returns when done, on a failure that waiting cannot fix, or
// when ctx ends (SIGTERM), with the state reached.
func Run(ctx context.Context, cfg *Config, opts Options) (State, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := LoadState(cfg.StateDir)
	if err != nil {
		return st, err
	}
	if st.Stage == StageFinalized {
		log.Info("first boot: the device is finalized; nothing to do")
		return st, nil
	}
	r := &runner{cfg: cfg, opts: opts, log: log, st: st}
	trigger := make(chan struct{}, 1)
	r.trigger = trigger
	if opts.Trigger != nil {
		go forward(ctx, opts.Trigger, trigger)
	}
	if err := SaveState(cfg.StateDir, r.st); err != nil {
		return r.st, err
	}
	ctl, err := listenControl(cfg.StateDir, trigger)
	if err != nil {
		return r.st, err
	}
	defer ctl.close()
	r.ctl = ctl
	err = r.run(ctx)
	return r.st, err
}

func forward(ctx context.Context, from <-chan struct{}, to chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-from:
			if !ok {
				return
			}
			select {
			case to <- struct{}{}:
			default:
			}
		}
	}
}

type runner struct {
	cfg     *Config
	opts    Options
	log     *slog.Logger
	st      State
	ctl     *control
	trigger chan struct{}
	screens *screens
	// rootCAs is the CA file's pool, loaded once per Run (nil: the system's).
	rootCAs *x509.CertPool
	// code is what the device shows and says while it waits.
	code deviceCode
	// att or cert attests the device: its TPM, or its certificate.
	att  *tpm.Attestation
	cert *tls.Certificate
	// backoff paces the attempts; failures counts those since the last success.
	backoff  retry.Policy
	failures int
}

func (r *runner) advance(stage Stage, update func(*State)) error {
	if update != nil {
		update(&r.st)
	}
	if stage.AtLeast(r.st.Stage) {
		r.st.Stage = stage
	}
	r.st.Updated = time.Now().UTC()
	if err := SaveState(r.cfg.StateDir, r.st); err != nil {
		return err
	}
	r.log.Info("first boot: stage reached", "stage", r.st.Stage)
	r.checkpoint(string(r.st.Stage))
	return nil
}

func (r *runner) checkpoint(point string) {
	if r.opts.Checkpoint != nil {
		r.opts.Checkpoint(point)
	}
}

// status shows a status on the screen and on the control socket.
func (r *runner) status(msg string, lines ...string) {
	r.ctl.setStatus(msg)
	r.log.Info("first boot: "+msg, "detail", lines)
	if r.screens == nil {
		return
	}
	if err := r.screens.show(msg, lines...); err != nil {
		r.log.Error("first boot: cannot show the screen", "err", err)
	}
}

func (r *runner) run(ctx context.Context) error {
	var code deviceCode
	var closeID func() error
	var err error
	if r.cfg.X509 != nil {
		code, closeID, err = r.openCertificate(ctx)
	} else {
		code, closeID, err = r.openTPM(ctx)
	}
	if err != nil {
		return err
	}
	defer closeID()
	if r.cfg.DPS.CAFile != "" {
		if r.rootCAs, err = cafile.Load(r.cfg.DPS.CAFile); err != nil {
			return err
		}
	}
	if err := r.advance(StageIdentity, func(s *State) { s.RegistrationID = code.registrationID }); err != nil {
		return err
	}
	if r.screens, err = newScreens(r.cfg.Display, r.opts.Terminal, r.log, code.payload, code.registrationID); err != nil {
		return err
	}
	r.code = code
	if !r.st.Stage.AtLeast(StageRegistered) {
		r.status(code.waiting)
		if err := r.advance(StageShown, nil); err != nil {
			return err
		}
	}
	r.backoff = retry.Policy{BaseDelay: time.Duration(r.cfg.Retry.Initial), MaxDelay: time.Duration(r.cfg.Retry.Max)}
	for !r.st.Stage.AtLeast(StageConnected) {
		if !r.st.Stage.AtLeast(StageRegistered) {
			if err := r.register(ctx); err != nil {
				return err
			}
		} else if err := r.connect(ctx); err != nil {
			return err
		}
	}
	if r.opts.Finalizer == nil {
		return nil
	}
	r.status(msgFinalizing, "Registered to "+r.st.AssignedHub)
	err = r.opts.Finalizer.Run(ctx, func(context.Context) error {
		r.checkpoint(CheckpointWorkloadEnabled)
		return r.advance(StageFinalized, nil)
	})
	if err != nil {
		r.status("Finalizing failed: the device stays in out-of-box mode", err.Error())
		return fmt.Errorf("finalize: %w", err)
	}
	return nil
}

// register makes one registration attempt and, once assigned, connects to the hub; on an answer
// other than assigned it shows why and waits before returning, so the caller simply loops.
func (r *runner) register(ctx context.Context) error {
	cfg := r.onboardConfig()
	var saveErr error
	cfg.Assigned = func(res *provision.Result) error {
		r.failures = 0
		if saveErr = r.advance(StageRegistered, func(s *State) { s.AssignedHub, s.DeviceID = res.AssignedHub, res.DeviceID }); saveErr != nil {
			return saveErr
		}
		r.status("Registered to " + r.st.AssignedHub + ": connecting")
		return nil
	}
	r.st.Attempts++
	res, err := onboard.Register(ctx, cfg)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case saveErr != nil:
		return saveErr
	case errors.Is(err, provision.ErrNotEnrolled):
		r.status(r.code.notEnrolled)
	case res == nil:
		r.status("Cannot register with DPS: retrying", err.Error())
	case res.Status == dpsapi.RegistrationDisabled:
		r.status(msgDisabled, r.code.disabled)
	case res.Status == dpsapi.RegistrationFailed:
		r.status("DPS could not assign this device: retrying", fmt.Sprintf("DPS error %d: %s", res.ErrorCode, res.ErrorMessage))
	default:
		return r.connected(ctx, err)
	}
	return r.wait(ctx)
}

// connect connects a registered device to its assigned hub with the hub key in the TPM and
// reports the provisioning.
func (r *runner) connect(ctx context.Context) error {
	r.status("Registered to " + r.st.AssignedHub + ": connecting")
	a := onboard.Assignment{RegistrationID: r.st.RegistrationID, Hub: r.st.AssignedHub, DeviceID: r.st.DeviceID}
	return r.connected(ctx, onboard.Connect(ctx, r.onboardConfig(), a))
}

// connected records the outcome of connecting to the hub. A hub that refuses the device sends it
// back to registration: its key may be out of date.
func (r *runner) connected(ctx context.Context, err error) error {
	detail := ""
	if he := (*onboard.HubError)(nil); errors.As(err, &he) {
		detail = he.Err.Error()
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, hubclient.ErrNotAuthorized):
		r.status("The hub refused this device: registering again", detail)
		r.st.Stage = StageShown
		return r.wait(ctx)
	case err != nil:
		r.status("Registered to "+r.st.AssignedHub+", but the hub cannot be reached: retrying", detail)
		return r.wait(ctx)
	}
	return r.advance(StageConnected, nil)
}

// onboardConfig is the registration and hub connection of this device, attested by its TPM or
// its certificate. The twin it reads on connecting is saved for the device's software.
func (r *runner) onboardConfig() onboard.Config {
	p := provision.Config{IDScope: r.cfg.DPS.IDScope, Endpoint: r.cfg.DPS.Endpoint, RegistrationID: r.st.RegistrationID, RootCAs: r.rootCAs, Logger: r.log}
	if r.att != nil {
		p.TPM = r.att
	} else {
		p.Certificate = r.cert
	}
	return onboard.Config{Provision: p, HubAddress: r.cfg.Hub.Address, Twin: r.saveDesired}
}

// saveDesired keeps the twin's desired properties in the state directory.
func (r *runner) saveDesired(t hubclient.Twin) error {
	b, err := json.MarshalIndent(t.Desired, "", "  ")
	if err != nil {
		return err
	}
	return writeDurably(r.cfg.StateDir, DesiredFile, append(b, '\n'))
}

// wait sleeps the backoff after one more failure (doubling from the configured initial wait up to
// its maximum, with jitter), or less when the operator asks for an attempt now.
func (r *runner) wait(ctx context.Context) error {
	r.failures++
	d := r.backoff.Backoff(r.failures)
	r.log.Debug("first boot: next attempt", "in", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-r.trigger:
		r.log.Info("first boot: attempt asked for by the operator")
	}
	return nil
}

// deviceCode is what a waiting device shows: the code's payload, and what to tell the person in
// front of it while it waits.
type deviceCode struct {
	registrationID string
	payload        string
	// waiting is the status before DPS has answered; notEnrolled when DPS does not know the
	// device; disabled is the line under msgDisabled.
	waiting, notEnrolled, disabled string
}

// openTPM reads the device's identity and attestation from its TPM: the code is the identity,
// for the companion to enroll.
func (r *runner) openTPM(ctx context.Context) (deviceCode, func() error, error) {
	dev, err := r.opts.OpenTPM(ctx)
	if err != nil {
		return deviceCode{}, nil, err
	}
	id, err := dev.DeviceIdentity(ctx, r.cfg.DPS.RegistrationID, r.cfg.DPS.Label)
	if err == nil {
		r.att, err = dev.Attestation(ctx)
	}
	var payload string
	if err == nil {
		payload, err = encodeIdentity(r.cfg.Display, id)
	}
	if err != nil {
		dev.Close()
		return deviceCode{}, nil, err
	}
	return deviceCode{
		registrationID: id.RegistrationID,
		payload:        payload,
		waiting:        msgWaiting,
		notEnrolled:    msgWaiting,
		disabled:       "Ask for the enrollment of " + id.RegistrationID + " to be enabled",
	}, dev.Close, nil
}

// openCertificate reads the device's certificate and opens its key: the code is the label's
// activation URL (or, without one, the registration ID), for the device's buyer to activate it.
func (r *runner) openCertificate(ctx context.Context) (deviceCode, func() error, error) {
	if r.opts.OpenX509Key == nil {
		return deviceCode{}, nil, errors.New("x509: this agent cannot open X.509 keys")
	}
	key, closeKey, err := r.opts.OpenX509Key(ctx, r.cfg.X509)
	if err != nil {
		return deviceCode{}, nil, err
	}
	id, err := loadCertificateIdentity(r.cfg.X509, key)
	if err != nil {
		closeKey()
		return deviceCode{}, nil, err
	}
	r.cert = id.cert
	payload := id.activationURL
	if payload == "" {
		payload = id.registrationID
	}
	return deviceCode{
		registrationID: id.registrationID,
		payload:        payload,
		waiting:        msgRegistering,
		notEnrolled:    msgNotPreEnrolled,
		disabled:       "Activate board " + id.registrationID + " on the activation portal: scan this code",
	}, closeKey, nil
}

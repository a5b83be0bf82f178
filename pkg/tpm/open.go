// Package tpm opens a TPM 2.0 and reads, or creates, the identity DPS attests (the endorsement
// key, the storage root key and the EK certificate), then imports the HMAC key DPS sends and signs
// with it.
package tpm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Config says which TPM to open and how to authorize with it. The zero value opens
// DefaultDevice with empty hierarchy passwords.
type Config struct {
	// Path is where the TPM is, in the form ParseSpec accepts: "" (DefaultDevice), a device
	// path, or tcp://HOST:PORT for swtpm's TCP server. Ignored when Transport is set.
	Path string
	// EndorsementAuth is the endorsement hierarchy's password, needed to create the EK on a TPM
	// whose owner set one. Callers read it from the environment or a 0600 file, never argv.
	EndorsementAuth []byte
	// OwnerAuth is the owner (storage) hierarchy's password, needed to create the SRK and to
	// persist keys on a TPM whose owner set one. Same sourcing rules as EndorsementAuth.
	OwnerAuth []byte
	// Transport, when set, is the TPM to use instead of Path: one the caller opened itself, such
	// as the go-tpm-tools simulator in tests. The TPM takes it over: Close closes it.
	Transport transport.TPMCloser
}

// TPM is an open TPM 2.0. Its methods may be called from several goroutines; commands are sent
// one at a time.
type TPM struct {
	mu   sync.Mutex
	conn conn
	// name is how messages refer to this TPM: its device path or tcp:// address.
	name            string
	endorsementAuth []byte
	ownerAuth       []byte
	// nvChunk is the most NV data one TPM2_NV_Read may ask for (TPM_PT_NV_BUFFER_MAX).
	nvChunk int
}

// Open opens the TPM cfg names and checks that it answers as a TPM 2.0.
func Open(ctx context.Context, cfg Config) (*TPM, error) {
	t := &TPM{
		endorsementAuth: cfg.EndorsementAuth,
		ownerAuth:       cfg.OwnerAuth,
	}
	tcp := false
	switch {
	case cfg.Transport != nil:
		t.conn, t.name = transportConn{cfg.Transport}, "the TPM"
	default:
		spec, err := ParseSpec(cfg.Path)
		if err != nil {
			return nil, err
		}
		t.name = spec.String()
		if spec.Addr != "" {
			tcp = true
			t.conn, err = dialTCP(ctx, spec.Addr)
		} else {
			t.conn, err = openDevice(spec.Device)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := t.start(ctx, tcp); err != nil {
		_ = t.conn.Close()
		return nil, err
	}
	return t, nil
}

// start asks the TPM for its NV buffer size, which also proves it speaks TPM 2.0. A software
// TPM started without startup-clear answers TPM_RC_INITIALIZE until someone sends
// TPM2_Startup; on a tcp:// TPM we send it ourselves. A device's TPM was started by the
// firmware, and sending Startup there is not ours to do.
func (t *TPM) start(ctx context.Context, mayStartup bool) error {
	n, err := t.property(ctx, tpm2.TPMPTNVBufferMax)
	if errors.Is(err, tpm2.TPMRCInitialize) && mayStartup {
		if _, err := run(ctx, t, tpm2.Startup{StartupType: tpm2.TPMSUClear}); err != nil {
			return fmt.Errorf("tpm: starting up %s: %w", t.name, err)
		}
		n, err = t.property(ctx, tpm2.TPMPTNVBufferMax)
	}
	if err != nil {
		return t.classify(fmt.Sprintf("asking %s for its properties", t.name), "", err)
	}
	t.nvChunk = nvChunkSize(n)
	return nil
}

// Close closes the TPM (and the injected Transport, if any). Keys this package persisted stay
// in the TPM.
func (t *TPM) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn.Close()
}

// roundTrip sends one command and returns its checked response, resending it while the TPM says
// it is busy. Every command this package sends passes through here.
func (t *TPM) roundTrip(ctx context.Context, cmd []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		rsp, err := t.conn.send(ctx, cmd)
		if err == nil {
			var h responseHeader
			h, err = checkResponse(rsp)
			if err == nil && busy(h.rc) && attempt < len(retryDelays) {
				if err := sleep(ctx, retryDelays[attempt]); err != nil {
					return nil, err
				}
				continue
			}
		}
		if errors.Is(err, errTPM12Response) {
			return nil, tpm12Error(t.name, nil)
		}
		if err != nil {
			return nil, err
		}
		return rsp, nil
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// run executes one go-tpm command on t. A response go-tpm cannot parse becomes an
// ErrMalformedResponse error; go-tpm parses by reflection, and should hostile bytes ever make it
// panic, that becomes the same error rather than a crash of the agent.
func run[R any, C tpm2.Command[R, *R]](ctx context.Context, t *TPM, cmd C, s ...tpm2.Session) (rsp *R, err error) {
	b := &bound{ctx: ctx, t: t}
	defer func() {
		if r := recover(); r != nil {
			rsp, err = nil, malformed(nil, "the response to command 0x%08x could not be parsed: %v", uint32(cmd.Command()), r)
		}
	}()
	rsp, err = cmd.Execute(b, s...)
	if err != nil && b.answered {
		return nil, malformed(err, "the response to command 0x%08x could not be parsed", uint32(cmd.Command()))
	}
	return rsp, err
}

// property returns one TPM_PT property, or 0 when the TPM does not report it.
func (t *TPM) property(ctx context.Context, p tpm2.TPMPT) (uint32, error) {
	rsp, err := run(ctx, t, tpm2.GetCapability{
		Capability:    tpm2.TPMCapTPMProperties,
		Property:      uint32(p),
		PropertyCount: 1,
	})
	if err != nil {
		return 0, err
	}
	props, err := rsp.CapabilityData.Data.TPMProperties()
	if err != nil {
		return 0, malformed(err, "TPM2_GetCapability(TPM_CAP_TPM_PROPERTIES)")
	}
	for _, tp := range props.TPMProperty {
		if tp.Property == p {
			return tp.Value, nil
		}
	}
	return 0, nil
}

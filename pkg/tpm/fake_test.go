package tpm

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// fakeTPM is a scripted TPM for conditions no simulator can be put in: TPM 1.2 answers,
// malformed responses, lockout, busy retries, missing RSA support.
type fakeTPM struct {
	mu sync.Mutex
	// answer returns the response to one command.
	answer func(cc tpm2.TPMCC, cmd []byte) ([]byte, error)
	// sent lists the command codes received.
	sent []tpm2.TPMCC
}

func (f *fakeTPM) Send(cmd []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cc tpm2.TPMCC
	if len(cmd) >= 10 {
		cc = tpm2.TPMCC(binary.BigEndian.Uint32(cmd[6:10]))
	}
	f.sent = append(f.sent, cc)
	return f.answer(cc, cmd)
}

func (f *fakeTPM) Close() error { return nil }

// response builds a TPM response with the given tag, response code and body.
func response(tag uint16, rc tpm2.TPMRC, body ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, tag)
	b = binary.BigEndian.AppendUint32(b, uint32(headerSize+len(body)))
	b = binary.BigEndian.AppendUint32(b, uint32(rc))
	return append(b, body...)
}

// rc is a bodiless response with a response code.
func rc(code tpm2.TPMRC) []byte { return response(0x8001, code) }

// capResponse answers GetCapability(TPM_PT_NV_BUFFER_MAX) with 1024.
func capResponse() []byte {
	body := []byte{0}                                 // moreData
	body = binary.BigEndian.AppendUint32(body, 6)     // TPM_CAP_TPM_PROPERTIES
	body = binary.BigEndian.AppendUint32(body, 1)     // count
	body = binary.BigEndian.AppendUint32(body, 0x12C) // TPM_PT_NV_BUFFER_MAX
	body = binary.BigEndian.AppendUint32(body, 1024)  // value
	return response(0x8001, 0, body...)
}

// Response codes as a TPM encodes them, handle/parameter/session numbers included.
const (
	rcHandle1     tpm2.TPMRC = 0x18B // TPM_RC_HANDLE, handle 1
	rcKeySizeP1   tpm2.TPMRC = 0x1C7 // TPM_RC_KEY_SIZE, parameter 1
	rcHierarchyH1 tpm2.TPMRC = 0x185 // TPM_RC_HIERARCHY, handle 1
	rcBadAuthS1   tpm2.TPMRC = 0x9A2 // TPM_RC_BAD_AUTH, session 1
	rcLockoutWarn tpm2.TPMRC = 0x921 // TPM_RC_LOCKOUT
	rcRetryWarn   tpm2.TPMRC = 0x922 // TPM_RC_RETRY
	rcInitialize  tpm2.TPMRC = 0x100 // TPM_RC_INITIALIZE
)

// openFake opens a fakeTPM whose answers to everything but the opening GetCapability come from
// answer.
func openFake(t *testing.T, answer func(cc tpm2.TPMCC, cmd []byte) ([]byte, error)) (*TPM, *fakeTPM) {
	t.Helper()
	f := &fakeTPM{answer: func(cc tpm2.TPMCC, cmd []byte) ([]byte, error) {
		if cc == tpm2.TPMCCGetCapability {
			return capResponse(), nil
		}
		return answer(cc, cmd)
	}}
	dev, err := Open(context.Background(), Config{Transport: f})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return dev, f
}

func TestOpenRejectsWhatIsNotATPM2(t *testing.T) {
	for _, tc := range []struct {
		name string
		rsp  []byte
		err  error
		kind error
		say  string
	}{
		{name: "TPM 1.2", rsp: response(0x00C4, rcBadTag), kind: ErrTPM12, say: "is a TPM 1.2; DPS TPM attestation needs a TPM 2.0"},
		{name: "short", rsp: []byte{0x80, 0x01, 0, 0}, kind: ErrMalformedResponse, say: "shorter than a response header"},
		{name: "empty", rsp: nil, kind: ErrMalformedResponse},
		{name: "size larger than response", rsp: func() []byte { b := capResponse(); binary.BigEndian.PutUint32(b[2:], 99); return b }(), kind: ErrMalformedResponse, say: "header says 99 bytes"},
		{name: "size smaller than response", rsp: append(capResponse(), 0), kind: ErrMalformedResponse},
		{name: "unknown tag", rsp: response(0x1234, 0), kind: ErrMalformedResponse, say: "unknown response tag 0x1234"},
		{name: "truncated body", rsp: response(0x8001, 0, 0, 0, 0, 0, 6), kind: ErrMalformedResponse, say: "the response to command 0x0000017a could not be parsed"},
		{name: "lockout", rsp: rc(rcLockoutWarn), kind: ErrLockout, say: "dictionary-attack lockout"},
		{name: "not started", rsp: rc(rcInitialize), kind: nil, say: "TPM_RC_INITIALIZE"},
		{name: "transport failure", err: errors.New("bus on fire"), say: "bus on fire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTPM{answer: func(tpm2.TPMCC, []byte) ([]byte, error) { return tc.rsp, tc.err }}
			_, err := Open(context.Background(), Config{Transport: f})
			t.Log(err)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("got %v, want %v", err, tc.kind)
			}
			if !strings.HasPrefix(err.Error(), "tpm: ") || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("message %q does not say %q", err, tc.say)
			}
			for _, cc := range f.sent {
				if cc == tpm2.TPMCCStartup {
					t.Errorf("sent TPM2_Startup to a TPM that is not ours to start")
				}
			}
		})
	}
}

func TestBusyTPMIsRetried(t *testing.T) {
	calls := 0
	f := &fakeTPM{answer: func(tpm2.TPMCC, []byte) ([]byte, error) {
		calls++
		if calls < 3 {
			return rc(rcRetryWarn), nil
		}
		return capResponse(), nil
	}}
	dev, err := Open(context.Background(), Config{Transport: f})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if calls != 3 || dev.nvChunk != 1024 {
		t.Errorf("%d calls, NV chunk %d; want 3 calls and 1024", calls, dev.nvChunk)
	}
}

func TestBusyRetryStopsWithContext(t *testing.T) {
	f := &fakeTPM{answer: func(tpm2.TPMCC, []byte) ([]byte, error) { return rc(rcRetryWarn), nil }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, Config{Transport: f}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestKeyCreationErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer map[tpm2.TPMCC][]byte
		kind   error
		say    string
	}{
		{
			name:   "no RSA-2048",
			answer: map[tpm2.TPMCC][]byte{tpm2.TPMCCReadPublic: rc(rcHandle1), tpm2.TPMCCTestParms: rc(rcKeySizeP1)},
			kind:   ErrRSA2048Unsupported, say: "this TPM cannot create RSA-2048 keys",
		},
		{
			name:   "lockout while creating",
			answer: map[tpm2.TPMCC][]byte{tpm2.TPMCCReadPublic: rc(rcHandle1), tpm2.TPMCCTestParms: rc(0), tpm2.TPMCCCreatePrimary: rc(rcLockoutWarn)},
			kind:   ErrLockout, say: "creating the endorsement key: the TPM is in dictionary-attack lockout",
		},
		{
			name:   "hierarchy disabled while reading",
			answer: map[tpm2.TPMCC][]byte{tpm2.TPMCCReadPublic: rc(rcHierarchyH1)},
			kind:   ErrHierarchyDisabled, say: "the endorsement hierarchy is disabled",
		},
		{
			name:   "endorsement password",
			answer: map[tpm2.TPMCC][]byte{tpm2.TPMCCReadPublic: rc(rcHandle1), tpm2.TPMCCTestParms: rc(0), tpm2.TPMCCCreatePrimary: rc(rcBadAuthS1)},
			kind:   ErrHierarchyAuth, say: "supply it with OOB_ENDORSEMENT_AUTH or --endorsement-auth-file",
		},
		{
			name:   "garbage public area",
			answer: map[tpm2.TPMCC][]byte{tpm2.TPMCCReadPublic: response(0x8001, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0)},
			kind:   ErrMalformedResponse,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, _ := openFake(t, func(cc tpm2.TPMCC, _ []byte) ([]byte, error) {
				if r, ok := tc.answer[cc]; ok {
					return r, nil
				}
				return rc(0x143), nil // TPM_RC_COMMAND_CODE: not scripted
			})
			_, err := dev.EndorsementKey(context.Background())
			t.Log(err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.say) {
				t.Errorf("message %q does not say %q", err, tc.say)
			}
		})
	}
}

func TestNVChunkSize(t *testing.T) {
	for reported, want := range map[uint32]int{0: 512, 768: 768, 1024: 1024, 1 << 20: 2048} {
		if got := nvChunkSize(reported); got != want {
			t.Errorf("nvChunkSize(%d) = %d, want %d", reported, got, want)
		}
	}
}

// openFakeTPM opens f without a testing.T, for fuzz functions.
func openFakeTPM(f *fakeTPM) (*TPM, error) {
	return Open(context.Background(), Config{Transport: f})
}

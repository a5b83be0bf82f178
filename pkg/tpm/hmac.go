package tpm

import (
	"context"

	"github.com/google/go-tpm/tpm2"
)

// maxHMACBuffer is the most data one TPM2_HMAC or TPM2_SequenceUpdate carries: a TPM2B_MAX_BUFFER
// holds 1024 bytes on PC Client TPMs (MAX_DIGEST_BUFFER), the least any of them implements.
const maxHMACBuffer = 1024

// SignHMAC returns HMAC-SHA256 of data under the DPS key at DPSKeyHandle, computed by the TPM:
// the signature of a SAS token, over its UTF-8 "sr\nse". Data longer than one TPM buffer goes
// through an HMAC sequence. Without an imported key it returns ErrNoDPSKey.
func (t *TPM) SignHMAC(ctx context.Context, data []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key, err := t.dpsKey(ctx)
	if err != nil {
		return nil, err
	}
	auth := tpm2.AuthHandle{Handle: key.Handle, Name: key.Name, Auth: tpm2.PasswordAuth(nil)}
	if len(data) <= maxHMACBuffer {
		rsp, err := run(ctx, t, tpm2.Hmac{Handle: auth, Buffer: tpm2.TPM2BMaxBuffer{Buffer: data}, HashAlg: tpm2.TPMAlgSHA256})
		if err != nil {
			return nil, t.classify("computing an HMAC with the DPS key", "", err)
		}
		return rsp.OutHMAC.Buffer, nil
	}
	return t.hmacSequence(ctx, auth, data)
}

// hmacSequence computes an HMAC over data in chunks of maxHMACBuffer bytes, the last one sent
// with TPM2_SequenceComplete.
func (t *TPM) hmacSequence(ctx context.Context, key tpm2.AuthHandle, data []byte) ([]byte, error) {
	const op = "computing an HMAC with the DPS key"
	start, err := run(ctx, t, tpm2.HmacStart{Handle: key, HashAlg: tpm2.TPMAlgSHA256})
	if err != nil {
		return nil, t.classify(op, "", err)
	}
	seq := tpm2.AuthHandle{Handle: start.SequenceHandle, Auth: tpm2.PasswordAuth(nil)}
	completed := false
	defer func() {
		// A sequence that did not complete stays loaded until flushed.
		if !completed {
			t.flush(ctx, start.SequenceHandle)
		}
	}()
	for len(data) > maxHMACBuffer {
		if _, err := run(ctx, t, tpm2.SequenceUpdate{SequenceHandle: seq, Buffer: tpm2.TPM2BMaxBuffer{Buffer: data[:maxHMACBuffer]}}); err != nil {
			return nil, t.classify(op, "", err)
		}
		data = data[maxHMACBuffer:]
	}
	rsp, err := run(ctx, t, tpm2.SequenceComplete{SequenceHandle: seq, Buffer: tpm2.TPM2BMaxBuffer{Buffer: data}, Hierarchy: tpm2.TPMRHNull})
	if err != nil {
		return nil, t.classify(op, "", err)
	}
	completed = true
	return rsp.Result.Buffer, nil
}

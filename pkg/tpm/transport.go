package tpm

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// conn carries one TPM command at a time to a TPM and brings back its response: a device file,
// swtpm's TCP server, or an injected transport such as the simulator.
type conn interface {
	// send writes one command and returns the whole response, or an error.
	send(ctx context.Context, cmd []byte) ([]byte, error)
	Close() error
}

// transportConn adapts a go-tpm transport (a device file, or one injected through Config) to
// conn. Those transports take no context and a TPM command cannot be abandoned halfway without
// confusing the TPM's resource manager, so the context is checked between commands only.
type transportConn struct {
	t transport.TPMCloser
}

func (c transportConn) send(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rsp, err := c.t.Send(cmd)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// go-tpm's device transport reports a read of nothing as EOF: whatever the device is,
		// it did not answer like a TPM.
		return nil, malformed(err, "no response")
	}
	return rsp, err
}

func (c transportConn) Close() error { return c.t.Close() }

// Response header layout (TPM 2.0 Part 1, 18.3): tag, size, response code, all big-endian.
const (
	headerSize = 10
	// maxResponseSize bounds what we accept from a TPM. Real TPMs answer in at most 4 KiB; the
	// bound keeps a corrupt size field from making us allocate gigabytes.
	maxResponseSize = 64 << 10
	// tagTPM12 is the response tag a TPM 1.2 uses (TPM_TAG_RSP_COMMAND); it answers a TPM 2.0
	// command with it and TPM_BADTAG.
	tagTPM12 = 0x00C4
	// rcBadTag is TPM_RC_BAD_TAG, which shares its value with TPM 1.2's TPM_BADTAG.
	rcBadTag tpm2.TPMRC = 0x01E
)

// responseHeader is the parsed header of a TPM response.
type responseHeader struct {
	tag  uint16
	size uint32
	rc   tpm2.TPMRC
}

// parseHeader checks the first headerSize bytes of a response.
func parseHeader(b []byte) (responseHeader, error) {
	if len(b) < headerSize {
		return responseHeader{}, malformed(nil, "%d bytes, shorter than a response header", len(b))
	}
	h := responseHeader{
		tag:  binary.BigEndian.Uint16(b[0:2]),
		size: binary.BigEndian.Uint32(b[2:6]),
		rc:   tpm2.TPMRC(binary.BigEndian.Uint32(b[6:10])),
	}
	switch {
	case h.tag == tagTPM12:
		return h, errTPM12Response
	case h.tag != uint16(tpm2.TPMSTNoSessions) && h.tag != uint16(tpm2.TPMSTSessions):
		return h, malformed(nil, "unknown response tag 0x%04x", h.tag)
	case h.size < headerSize || h.size > maxResponseSize:
		return h, malformed(nil, "response size %d out of range", h.size)
	}
	return h, nil
}

// errTPM12Response marks a TPM 1.2 answer before we know which TPM gave it; TPM.roundTrip turns
// it into the user-facing ErrTPM12 error.
var errTPM12Response = malformed(nil, "TPM 1.2 response tag")

// checkResponse checks a complete response: a valid header whose size is the response's length.
func checkResponse(b []byte) (responseHeader, error) {
	h, err := parseHeader(b)
	if err != nil {
		return h, err
	}
	if int(h.size) != len(b) {
		return h, malformed(nil, "header says %d bytes, got %d", h.size, len(b))
	}
	return h, nil
}

// busy reports response codes that mean "send the same command again later".
func busy(rc tpm2.TPMRC) bool {
	return rc == tpm2.TPMRCRetry || rc == tpm2.TPMRCYielded || rc == tpm2.TPMRCTesting
}

// retryDelays are the waits before resending a command the TPM was too busy for; a TPM
// self-testing after power-on can take a second or two.
var retryDelays = []time.Duration{
	1 * time.Millisecond, 4 * time.Millisecond, 16 * time.Millisecond, 64 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, 1 * time.Second, 2 * time.Second,
}

// bound gives go-tpm's Execute, which takes no context, a transport.TPM that carries one. It
// remembers whether the TPM answered with success, so that a failure after that is known to be
// go-tpm failing to parse the response.
type bound struct {
	ctx context.Context
	t   *TPM
	// answered is set when the last command got a well-formed TPM_RC_SUCCESS response.
	answered bool
}

// Send implements transport.TPM.
func (b *bound) Send(cmd []byte) ([]byte, error) {
	rsp, err := b.t.roundTrip(b.ctx, cmd)
	b.answered = err == nil && binary.BigEndian.Uint32(rsp[6:10]) == uint32(tpm2.TPMRCSuccess)
	return rsp, err
}

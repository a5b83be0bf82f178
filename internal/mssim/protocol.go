package mssim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Interface commands of the simulator's TCP protocol (TpmTcpProtocol.h in Microsoft's reference
// implementation) that Serve acts on. Each is a big-endian uint32 at the start of a request;
// the others (hash signals 5 and 7, TPM_TEST_FAILURE_MODE 30, TPM_GET_COMMAND_RESPONSE_SIZES 25
// and later additions) are refused.
const (
	signalPowerOn      = 1
	signalPowerOff     = 2
	signalPhysPresOn   = 3
	signalPhysPresOff  = 4
	signalHashData     = 6
	sendCommand        = 8
	signalCancelOn     = 9
	signalCancelOff    = 10
	signalNVOn         = 11
	signalNVOff        = 12
	signalKeyCacheOn   = 13
	signalKeyCacheOff  = 14
	remoteHandshake    = 15
	setAlternateResult = 16
	signalReset        = 17
	signalRestart      = 18
	sessionEnd         = 20
	stop               = 21
)

// serverVersion is the protocol version the simulator announces in its handshake; clients
// (tss.js among them) refuse any other.
const serverVersion = 1

// endpointInfo is what the simulator reports about itself in the handshake: a TPM in raw mode
// (tpmInRawMode 0x04) with a platform port (tpmPlatformAvailable 0x01) that takes physical
// presence signals (tpmSupportsPP 0x08).
const endpointInfo = 0x04 | 0x01 | 0x08

// maxCommand bounds a TPM_SEND_COMMAND payload, as the simulator's 1 MiB input buffer does; a
// TPM's own limit (TPM_PT_MAX_COMMAND_SIZE, 4 KiB for swtpm) is far lower, so a size near this
// is a corrupt or hostile frame and is refused before anything is allocated for it.
const maxCommand = 1 << 20

// maxResponse bounds a response read from the backend, for the same reason.
const maxResponse = 1 << 20

// tpmHeaderSize is the size of a TPM command or response header: tag, size, code.
const tpmHeaderSize = 10

// request is one request read from the TPM command port.
type request struct {
	// code is the interface command.
	code uint32
	// locality is TPM_SEND_COMMAND's locality byte.
	locality byte
	// command is TPM_SEND_COMMAND's TPM command.
	command []byte
	// clientVersion is TPM_REMOTE_HANDSHAKE's client version.
	clientVersion uint32
}

// errFrame marks a request that breaks the protocol: the connection cannot continue after it.
var errFrame = errors.New("mssim: malformed request")

// readRequest reads one request from the TPM command port: the command code, then what that
// command carries (TPM_SEND_COMMAND: locality byte, uint32 size, command; TPM_REMOTE_HANDSHAKE
// and TPM_SET_ALTERNATIVE_RESULT: a uint32; TPM_SIGNAL_HASH_DATA: uint32 size and data, read and
// dropped). io.EOF means the client left between requests.
func readRequest(r io.Reader) (request, error) {
	code, err := readUint32(r)
	if err != nil {
		return request{}, err
	}
	req := request{code: code}
	switch code {
	case sendCommand:
		var loc [1]byte
		if _, err := io.ReadFull(r, loc[:]); err != nil {
			return req, unexpectedEOF(err)
		}
		req.locality = loc[0]
		if req.command, err = readSized(r, maxCommand); err != nil {
			return req, err
		}
	case remoteHandshake:
		if req.clientVersion, err = readUint32(r); err != nil {
			return req, unexpectedEOF(err)
		}
	case setAlternateResult:
		if _, err := readUint32(r); err != nil {
			return req, unexpectedEOF(err)
		}
	case signalHashData:
		if _, err := readSized(r, maxCommand); err != nil {
			return req, err
		}
	}
	return req, nil
}

// readSized reads a uint32 size and then that many bytes, refusing a size beyond limit.
func readSized(r io.Reader, limit uint32) ([]byte, error) {
	n, err := readUint32(r)
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, at most %d allowed", errFrame, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, unexpectedEOF(err)
	}
	return b, nil
}

// readUint32 reads one big-endian uint32.
func readUint32(r io.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// unexpectedEOF turns an end of stream inside a request into io.ErrUnexpectedEOF, so that only a
// client leaving between requests reads as io.EOF.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// commandSizeProblem says what is wrong with a TPM command whose header cannot be trusted to
// frame it, or "" when the header's size is the command's length. swtpm reads exactly the size a
// header announces, so forwarding a command whose header disagrees with its frame would leave
// swtpm waiting for bytes that never come, or read the rest as the next command.
func commandSizeProblem(cmd []byte) string {
	if len(cmd) < tpmHeaderSize {
		return fmt.Sprintf("a %d-byte command is shorter than a TPM command header", len(cmd))
	}
	if size := binary.BigEndian.Uint32(cmd[2:6]); size != uint32(len(cmd)) {
		return fmt.Sprintf("the command's header says %d bytes but the frame holds %d", size, len(cmd))
	}
	return ""
}

// rcCommandSize is TPM_RC_COMMAND_SIZE, what a TPM answers when a command's size field does not
// match the bytes it received.
const rcCommandSize = 0x142

// errorResponse is a bare TPM 2.0 response carrying rc.
func errorResponse(rc uint32) []byte {
	b := make([]byte, tpmHeaderSize)
	binary.BigEndian.PutUint16(b[0:2], 0x8001) // TPM_ST_NO_SESSIONS
	binary.BigEndian.PutUint32(b[2:6], tpmHeaderSize)
	binary.BigEndian.PutUint32(b[6:10], rc)
	return b
}

// readResponse reads one raw TPM response from swtpm: the header, then the rest of the size it
// announces.
func readResponse(r io.Reader) ([]byte, error) {
	var hdr [tpmHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, unexpectedEOF(err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < tpmHeaderSize || size > maxResponse {
		return nil, fmt.Errorf("mssim: the TPM answered with a response header announcing %d bytes", size)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr[:])
	if _, err := io.ReadFull(r, rsp[tpmHeaderSize:]); err != nil {
		return nil, unexpectedEOF(err)
	}
	return rsp, nil
}

// sendCommandReply frames a TPM response as TPM_SEND_COMMAND's answer: uint32 size, the
// response, then the uint32 0 the simulator appends to every completed request. tss.js expects
// the whole answer before it looks at it, so it is built to go out in one write.
func sendCommandReply(rsp []byte) []byte {
	b := make([]byte, 0, 8+len(rsp))
	b = binary.BigEndian.AppendUint32(b, uint32(len(rsp)))
	b = append(b, rsp...)
	return binary.BigEndian.AppendUint32(b, 0)
}

// handshakeReply is TPM_REMOTE_HANDSHAKE's answer: server version, endpoint information, and the
// closing 0. tss.js requires exactly these 12 bytes.
func handshakeReply() []byte {
	b := binary.BigEndian.AppendUint32(nil, serverVersion)
	b = binary.BigEndian.AppendUint32(b, endpointInfo)
	return binary.BigEndian.AppendUint32(b, 0)
}

// uint32Bytes is v as four big-endian bytes: a platform acknowledgement (0) or refusal (1).
func uint32Bytes(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

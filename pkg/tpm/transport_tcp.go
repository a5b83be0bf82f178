package tpm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// tcpTimeout bounds one command on a tcp:// TPM when the context sets no earlier deadline. A
// software TPM answers in milliseconds (seconds for an RSA key); a silent peer must not hang
// the agent forever.
const tcpTimeout = 60 * time.Second

// tcpConn speaks swtpm's TCP server protocol: the raw TPM command bytes go out, the raw response
// comes back, delimited only by the size in its own header. This is not the Microsoft
// simulator's platform protocol that go-tpm's tcp transport speaks (a 4-byte command code and
// locality before every command), which swtpm's data port does not understand; and swtpm's
// control port is never touched, since swtpm is started already powered on.
type tcpConn struct {
	addr string
	c    net.Conn
	// broken is set once a command failed halfway: the byte stream is then out of step with the
	// TPM's framing and nothing further can be trusted on this connection.
	broken error
}

// dialTCP connects to swtpm's data port at addr (host:port).
func dialTCP(ctx context.Context, addr string) (*tcpConn, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, tcpTimeout)
	defer cancel()
	c, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("tpm: connecting to tcp://%s: %w", addr, ctx.Err())
		}
		return nil, notAnswering(addr, err)
	}
	return &tcpConn{addr: addr, c: c}, nil
}

// notAnswering explains a tcp:// address where no TPM answers.
func notAnswering(addr string, cause error) *Error {
	what := "nothing answers at tcp://" + addr
	if errors.Is(cause, syscall.ECONNREFUSED) {
		what = "nothing listens at tcp://" + addr
	}
	return newError(ErrNotAnswering, cause,
		"%s: start swtpm there, e.g. `swtpm_setup --tpm2 --create-ek-cert --tpmstate DIR` once, then "+
			"`swtpm socket --tpm2 --tpmstate dir=DIR --server type=tcp,port=PORT "+
			"--ctrl type=tcp,port=PORT+1 --flags not-need-init,startup-clear`", what)
}

// send writes one command and reads exactly one response.
func (c *tcpConn) send(ctx context.Context, cmd []byte) ([]byte, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(tcpTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.c.SetDeadline(deadline); err != nil {
		return nil, c.fail(ctx, err)
	}
	// Cancellation unblocks the read or write in progress by moving the deadline into the past.
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := c.c.Write(cmd); err != nil {
		return nil, c.fail(ctx, err)
	}
	rsp, err := readResponse(c.c)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	return rsp, nil
}

// fail marks the connection unusable and says why.
func (c *tcpConn) fail(ctx context.Context, err error) error {
	var e *Error
	// The connection's deadline is the context's when that is earlier, and its timer may fire a
	// moment before the context's own: a timeout at or after the context's deadline is the
	// context's deadline.
	d, hasDeadline := ctx.Deadline()
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (timedOut && hasDeadline && !time.Now().Before(d)):
		err = newError(ErrNotAnswering, context.DeadlineExceeded, "tcp://%s did not answer before the "+
			"deadline: is it swtpm's data port (not its control port), and is no other client connected "+
			"to it? (swtpm serves one connection at a time)", c.addr)
	case ctx.Err() != nil:
		err = fmt.Errorf("tpm: command to tcp://%s abandoned: %w", c.addr, ctx.Err())
	case errors.As(err, &e):
		// Already explained (a malformed or TPM 1.2 response).
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		err = newError(ErrNotAnswering, err,
			"tcp://%s closed the connection in the middle of a command: is swtpm still running, "+
				"and is no other client connected to it? (swtpm serves one connection at a time)", c.addr)
	default:
		if timedOut {
			err = newError(ErrNotAnswering, err,
				"tcp://%s accepted the connection but did not answer a command in time: is it swtpm's "+
					"data port (not its control port), and is no other client connected to it?", c.addr)
		} else {
			err = newError(ErrNotAnswering, err, "talking to tcp://%s failed", c.addr)
		}
	}
	c.broken = err
	return err
}

// Close closes the connection.
func (c *tcpConn) Close() error { return c.c.Close() }

// readResponse reads one TPM response from r: the 10-byte header, then exactly the rest of the
// size it announces. A header that is not a TPM 2.0 response is an error before anything more is
// read, so a wrong peer cannot make us wait for, or allocate, a bogus size.
func readResponse(r io.Reader) ([]byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	h, err := parseHeader(hdr[:])
	if err != nil {
		return nil, err
	}
	rsp := make([]byte, h.size)
	copy(rsp, hdr[:])
	if _, err := io.ReadFull(r, rsp[headerSize:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return rsp, nil
}

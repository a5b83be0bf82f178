// Package mssim serves the Microsoft TPM simulator's TCP protocol in front of swtpm, for tests:
// clients that speak only that protocol (Microsoft's tss.js under the Node device SDK, go-tpm's
// tcp transport) get a TPM whose commands go to swtpm's raw TCP server. No program under cmd/
// imports it; mssim-proxy (its cmd folder) wraps it for scripts.
//
// The simulator listens on two ports: TPM commands on one, platform signals on the next. On the
// command port a client sends TPM_REMOTE_HANDSHAKE (15, client version) and gets the server
// version 1, its endpoint flags and 0; TPM_SEND_COMMAND (8, locality byte, uint32 size, command)
// gets uint32 size, the response and 0. On the platform port each signal is a uint32 answered
// by a uint32 0. Serve answers these as the simulator does, except that swtpm, started with
// startup-clear, is already on: power, NV, cancel, physical presence, key cache and reset
// signals are acknowledged and change nothing, and none of them reaches swtpm (swtpm's control
// port speaks another protocol and is never used). A client's TPM2_Startup is forwarded like any
// command; swtpm answers TPM_RC_INITIALIZE, which tss.js accepts.
package mssim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
)

// commandTimeout bounds one command's round trip to swtpm; it only matters when swtpm is stuck,
// and then the client's connection is closed rather than left hanging.
const commandTimeout = time.Minute

// Server forwards the TPM commands of simulator-protocol clients to swtpm.
type Server struct {
	// Backend is swtpm's raw TCP command server, host:port (swtpmtest.Start's tcp:// address
	// without the scheme).
	Backend string
	// Logger receives what went wrong with a client or swtpm; nil discards it.
	Logger *slog.Logger
}

// Serve accepts clients on the TPM command listener and the platform listener until ctx is done,
// then closes both and every open connection and returns nil; it returns the first error either
// listener gives otherwise. Connections on each port are served one at a time, as the simulator
// does, each command connection with its own connection to swtpm, so clients may come and go
// one after another. A client sending TPM_STOP only ends its own connection.
func (s *Server) Serve(ctx context.Context, tpm, platform net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopListening := context.AfterFunc(ctx, func() {
		_ = tpm.Close()
		_ = platform.Close()
	})
	defer stopListening()

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, port := range []struct {
		l     net.Listener
		serve func(context.Context, net.Conn)
	}{{tpm, s.serveTPM}, {platform, s.servePlatform}} {
		wg.Go(func() {
			err := s.accept(ctx, port.l, port.serve)
			if err != nil {
				cancel()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// accept serves l's connections one after another until ctx is done (nil) or l fails.
func (s *Server) accept(ctx context.Context, l net.Listener, serve func(context.Context, net.Conn)) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("mssim: accepting on %s: %w", l.Addr(), err)
		}
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		serve(ctx, c)
		stop()
		_ = c.Close()
	}
}

// serveTPM answers one client of the TPM command port until it leaves or breaks the protocol.
func (s *Server) serveTPM(ctx context.Context, c net.Conn) {
	var backend net.Conn
	defer func() {
		if backend != nil {
			_ = backend.Close()
		}
	}()
	for {
		req, err := readRequest(c)
		switch {
		case errors.Is(err, io.EOF) || (err != nil && ctx.Err() != nil):
			return
		case err != nil:
			s.log().Warn("mssim: dropping a TPM port client", "client", c.RemoteAddr(), "err", err)
			return
		}
		var reply []byte
		switch req.code {
		case sendCommand:
			if req.locality != 0 {
				s.log().Warn("mssim: swtpm's raw server takes no locality; the command runs at locality 0",
					"locality", req.locality)
			}
			rsp, err := s.forward(ctx, &backend, req.command)
			if err != nil {
				s.log().Error("mssim: forwarding a TPM command to swtpm", "backend", s.Backend, "err", err)
				return
			}
			reply = sendCommandReply(rsp)
		case remoteHandshake:
			if req.clientVersion == 0 {
				s.log().Warn("mssim: handshake with client version 0, which the simulator refuses")
				return
			}
			reply = handshakeReply()
		case setAlternateResult:
			// The simulator reads and ignores it too.
			reply = uint32Bytes(0)
		case sessionEnd, stop:
			return
		default:
			// Unknown requests, and the H-CRTM hash signals, which swtpm's raw server cannot be
			// given: the simulator drops the connection on a request it does not know.
			s.log().Warn("mssim: unsupported TPM port request; closing the connection", "code", req.code)
			return
		}
		if _, err := c.Write(reply); err != nil {
			if ctx.Err() == nil {
				s.log().Warn("mssim: answering a TPM port client", "err", err)
			}
			return
		}
	}
}

// forward sends one TPM command to swtpm, connecting on first use, and returns its response. A
// command whose header does not frame it is answered with TPM_RC_COMMAND_SIZE here, as a TPM
// would, and never reaches swtpm.
func (s *Server) forward(ctx context.Context, backend *net.Conn, cmd []byte) ([]byte, error) {
	if problem := commandSizeProblem(cmd); problem != "" {
		s.log().Warn("mssim: answering TPM_RC_COMMAND_SIZE", "problem", problem)
		return errorResponse(rcCommandSize), nil
	}
	if *backend == nil {
		d := net.Dialer{Timeout: commandTimeout}
		c, err := d.DialContext(ctx, "tcp", s.Backend)
		if err != nil {
			return nil, err
		}
		*backend = c
	}
	c := *backend
	if err := c.SetDeadline(time.Now().Add(commandTimeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write(cmd); err != nil {
		return nil, err
	}
	return readResponse(c)
}

// servePlatform answers one client of the platform port until it leaves or sends something the
// simulator would refuse.
func (s *Server) servePlatform(ctx context.Context, c net.Conn) {
	for {
		code, err := readUint32(c)
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.log().Warn("mssim: dropping a platform port client", "client", c.RemoteAddr(), "err", err)
			}
			return
		}
		var answer uint32
		switch code {
		case signalPowerOn, signalPowerOff, signalReset, signalRestart,
			signalPhysPresOn, signalPhysPresOff, signalCancelOn, signalCancelOff,
			signalNVOn, signalNVOff, signalKeyCacheOn, signalKeyCacheOff:
			s.log().Debug("mssim: platform signal acknowledged; swtpm stays as it is", "signal", code)
		case sessionEnd, stop:
			return
		default:
			// TPM_TEST_FAILURE_MODE and TPM_GET_COMMAND_RESPONSE_SIZES included: swtpm cannot be
			// put in failure mode from here and we keep no size statistics. The simulator answers
			// a request it does not know with 1 and closes the connection.
			s.log().Warn("mssim: unsupported platform signal; refusing it", "signal", code)
			answer = 1
		}
		if _, err := c.Write(uint32Bytes(answer)); err != nil || answer != 0 {
			return
		}
	}
}

// log returns the logger, or one that discards.
func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// ListenPair listens on two adjacent loopback TCP ports: the TPM command port and, one above it,
// the platform port, where simulator clients such as tss.js look for it.
func ListenPair() (tpm, platform net.Listener, err error) {
	for range 100 {
		tpm, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("mssim: %w", err)
		}
		port := tpm.Addr().(*net.TCPAddr).Port
		platform, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		if err == nil {
			return tpm, platform, nil
		}
		_ = tpm.Close()
	}
	return nil, nil, errors.New("mssim: no two adjacent free loopback ports")
}

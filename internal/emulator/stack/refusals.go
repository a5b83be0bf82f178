package stack

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Go's http.Server answers a request line it cannot parse (a path with an invalid escape such as
// /enrollments/%zz) itself, writing a plain-text 400 to the connection before any handler runs.
// DPS answers such a request with its JSON error body. The service listener therefore hands the
// server TLS connections of its own type, whose writes turn that one plain answer into DPS's.
// The server takes such a connection's TLS state (r.TLS, with the device's client certificate)
// from its ConnectionState method before it reads a request, so that method completes the
// handshake first, as the server does itself for a *tls.Conn.

// goPlain400 is how net/http's server begins its own answer to an unparsable request.
var goPlain400 = []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")

// dpsListener accepts TLS connections as refusalConns.
type dpsListener struct {
	net.Listener
	conf *tls.Config
	now  func() time.Time
}

func newDPSListener(l net.Listener, conf *tls.Config, now func() time.Time) *dpsListener {
	conf = conf.Clone()
	conf.NextProtos = []string{"http/1.1"} // the server does not see a *tls.Conn, so no HTTP/2
	return &dpsListener{Listener: l, conf: conf, now: now}
}

func (l *dpsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &refusalConn{Conn: tls.Server(c, l.conf), now: l.now}, nil
}

// refusalConn is a TLS connection whose server-written plain 400 becomes DPS's JSON 400.
type refusalConn struct {
	*tls.Conn
	now func() time.Time
}

// handshakeTimeout bounds a client's TLS handshake, as ReadHeaderTimeout bounds its request.
const handshakeTimeout = 10 * time.Second

// ConnectionState completes the handshake, then returns the connection's state.
func (c *refusalConn) ConnectionState() tls.ConnectionState {
	_ = c.Conn.SetDeadline(time.Now().Add(handshakeTimeout))
	err := c.Conn.Handshake()
	_ = c.Conn.SetDeadline(time.Time{})
	if err != nil {
		return tls.ConnectionState{} // the server's first read fails the same way and closes it
	}
	return c.Conn.ConnectionState()
}

func (c *refusalConn) Write(p []byte) (int, error) {
	if !bytes.HasPrefix(p, goPlain400) {
		return c.Conn.Write(p)
	}
	body, _ := json.Marshal(dpsapi.ErrorDetails{
		ErrorCode:    httpapi.CodeInvalidArgument,
		TrackingID:   httpapi.TrackingID(),
		Message:      "The request could not be read: its path has an invalid percent-escape, or its request line is malformed.",
		TimestampUTC: httpapi.FormatTime(c.now()),
	})
	answer := fmt.Sprintf("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nx-ms-error-code: %d\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		httpapi.CodeInvalidArgument, len(body), body)
	if _, err := io.WriteString(c.Conn, answer); err != nil {
		return 0, err
	}
	return len(p), nil
}

package tpm

import (
	"net"
	"strconv"
	"strings"
)

// DefaultDevice is the TPM used when none is named: the kernel's resource-managed device, which
// lets several programs share the TPM and flushes what a crashed one left loaded.
const DefaultDevice = "/dev/tpmrm0"

// Spec says where a TPM is: exactly one of Device and Addr is set.
type Spec struct {
	// Device is the path of a TPM character device, such as /dev/tpmrm0 or /dev/tpm0.
	Device string
	// Addr is the host:port of swtpm's TCP server (its data port).
	Addr string
}

// String returns the spec in the form ParseSpec accepts.
func (s Spec) String() string {
	if s.Addr != "" {
		return "tcp://" + s.Addr
	}
	return s.Device
}

// ParseSpec parses a TPM address: "" means DefaultDevice, an absolute path names a device, and
// tcp://HOST:PORT names swtpm's TCP server.
func ParseSpec(s string) (Spec, error) {
	switch {
	case s == "":
		return Spec{Device: DefaultDevice}, nil
	case strings.HasPrefix(s, "/"):
		return Spec{Device: s}, nil
	case strings.HasPrefix(s, "tcp://"):
		addr := strings.TrimPrefix(s, "tcp://")
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host == "" || strings.ContainsAny(addr, "/?#@") {
			return Spec{}, badSpec(s, err)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return Spec{}, badSpec(s, err)
		}
		return Spec{Addr: addr}, nil
	}
	return Spec{}, badSpec(s, nil)
}

// badSpec explains a TPM address ParseSpec does not accept.
func badSpec(s string, cause error) *Error {
	return newError(ErrBadSpec, cause,
		"%q is not a TPM address: give a device path such as %s or /dev/tpm0, or tcp://HOST:PORT "+
			"for swtpm's TCP server", s, DefaultDevice)
}

// Package netcheck holds the doctor checks of the network path to a TLS service, which the
// device's and the technician's doctors share: the host name resolves, TLS verifies with the CA
// in use, and this machine's clock agrees with the service's (SAS tokens depend on it).
//
// It uses only the standard library and the project's own packages, so that the device agent,
// a static binary with a size budget, can link it.
package netcheck

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPort is the port a Target without one is reached on: HTTPS's, which DPS and IoT Hub's
// REST APIs use.
const DefaultPort = "443"

// Target is a service the checks reach, and how the program that runs them is told about it,
// so that a failure can say what to change.
type Target struct {
	// Host is the DNS name or IP address to reach, without a port.
	Host string
	// Port is the TCP port; empty means DefaultPort.
	Port string
	// CAFile is a PEM file of the private CA trusted instead of the system's roots (read with
	// pkg/cafile); empty means the system's roots.
	CAFile string
	// Service names the service in findings: "DPS". Empty means "the service".
	Service string
	// HostFrom says where Host was set, for fixes: "the connection string's HostName".
	// Empty means "the host name".
	HostFrom string
	// CAFrom says how the program is given a CA file, for fixes: "--ca-file FILE or
	// $DPS_CA_FILE". Empty means "the CA file setting".
	CAFrom string
	// Resolver resolves Host; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// ParseTarget reads a service address as programs are given it: "host", "host:port" or
// "https://host[:port][/path]" (the path is ignored). A scheme other than https, an empty host
// or a port outside 1-65535 is an error that says so.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, errors.New("the service address is empty: give HOST or HOST:PORT")
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return Target{}, fmt.Errorf("the service address %q is not an https URL: give HOST, HOST:PORT or https://HOST[:PORT]", s)
		}
		if u.Scheme != "https" {
			return Target{}, fmt.Errorf("the service address %q is not https: the service is only reached over TLS", s)
		}
		if u.User != nil {
			return Target{}, fmt.Errorf("the service address carries a user name or password: give only https://HOST[:PORT]")
		}
		s = u.Host
	} else if strings.ContainsAny(s, "/?#@") {
		return Target{}, fmt.Errorf("the service address %q is not HOST or HOST:PORT", s)
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.Count(s, ":") == 1 || strings.HasPrefix(s, "[") {
		return Target{}, fmt.Errorf("the service address %q is not HOST or HOST:PORT: %v", s, err)
	}
	if host == "" {
		return Target{}, fmt.Errorf("the service address %q has no host", s)
	}
	if net.ParseIP(host) == nil && !hostName(host) {
		return Target{}, fmt.Errorf("the service address %q: the host is neither an IP address nor a host name (letters, digits, '-', '_', '.')", s)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return Target{}, fmt.Errorf("the service address %q: the port is not a number from 1 to 65535", s)
		}
	}
	return Target{Host: host, Port: port}, nil
}

// hostName reports whether h is made of a DNS name's characters, with a DNS name's length.
func hostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Addr returns host:port, the port DefaultPort when none is set.
func (t Target) Addr() string {
	port := t.Port
	if port == "" {
		port = DefaultPort
	}
	return net.JoinHostPort(t.Host, port)
}

func (t Target) hostFrom() string {
	if t.HostFrom == "" {
		return "the host name"
	}
	return t.HostFrom
}

func (t Target) caFrom() string {
	if t.CAFrom == "" {
		return "the CA file setting"
	}
	return t.CAFrom
}

func (t Target) resolver() *net.Resolver {
	if t.Resolver == nil {
		return net.DefaultResolver
	}
	return t.Resolver
}

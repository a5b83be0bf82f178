package sas

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultPolicyName is the access policy every DPS instance is created with.
const DefaultPolicyName = "provisioningserviceowner"

// whereToFind ends every connection string error, because the fix is almost always to copy the
// string again from the right place.
const whereToFind = "copy it from the Azure portal: the DPS instance → Shared access policies → " +
	DefaultPolicyName + " → Primary connection string"

// MaxConnectionStringLen bounds what ParseConnectionString reads; real ones are under 200 bytes.
const MaxConnectionStringLen = 1024

// ConnectionString is a parsed DPS service connection string:
// HostName=…;SharedAccessKeyName=…;SharedAccessKey=…. Printing it with any verb hides the key.
type ConnectionString struct {
	// HostName is the service's host name, e.g. "my-dps.azure-devices-provisioning.net".
	HostName string
	// KeyName is the access policy (SharedAccessKeyName), e.g. "provisioningserviceowner".
	KeyName string
	// Key is the policy's key (SharedAccessKey).
	Key Key
}

// Connection string field names, as the portal writes them.
const (
	fieldHostName = "HostName"
	fieldKeyName  = "SharedAccessKeyName"
	fieldKey      = "SharedAccessKey"
)

// ParseConnectionString reads a service connection string. Fields may come in any order and their
// names in any case; surrounding whitespace, surrounding quotes and a trailing ';' (all common in
// pasted text) are ignored. Unknown, repeated, empty or missing fields are refused, with a message
// that says what was pasted and where to find the right string. Errors never contain the key.
func ParseConnectionString(s string) (ConnectionString, error) {
	return parseConnectionString(s, dpsFlavor)
}

// flavor is what differs between the services whose connection strings share this form: where
// to find the right one, and which host names belong to the service.
type flavor struct {
	whereToFind string
	// wrongService returns a reason when hostName is plainly another service's.
	wrongService func(hostName string) string
	// deviceString explains a device connection string pasted in place of a service one.
	deviceString string
}

var dpsFlavor = flavor{
	whereToFind: whereToFind,
	wrongService: func(h string) string {
		if strings.HasSuffix(strings.ToLower(h), ".azure-devices.net") {
			return "HostName is an IoT Hub, not a Device Provisioning Service; " + whereToFind
		}
		return ""
	},
	deviceString: "this is an IoT Hub device connection string; the DPS service connection string is needed: " + whereToFind,
}

func parseConnectionString(s string, fl flavor) (ConnectionString, error) {
	whereToFind := fl.whereToFind
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" {
		return ConnectionString{}, csErr("it is empty; " + whereToFind)
	}
	if len(s) > MaxConnectionStringLen {
		return ConnectionString{}, csErr(fmt.Sprintf("it is longer than %d bytes; %s", MaxConnectionStringLen, whereToFind))
	}
	if strings.HasPrefix(strings.ToLower(s), "sharedaccesssignature ") {
		return ConnectionString{}, csErr("this is a SAS token, not a connection string; " + whereToFind)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimSuffix(s, ";"), ";") {
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		value = strings.TrimSpace(value)
		if !ok {
			return ConnectionString{}, csErr("a part is not Name=Value; " + whereToFind)
		}
		canon, err := canonicalField(name, fl)
		if err != nil {
			return ConnectionString{}, err
		}
		if _, dup := fields[canon]; dup {
			return ConnectionString{}, csErr(canon + " appears more than once; " + whereToFind)
		}
		if value == "" {
			return ConnectionString{}, csErr(canon + " is empty; " + whereToFind)
		}
		fields[canon] = value
	}
	for _, f := range []string{fieldHostName, fieldKeyName, fieldKey} {
		if _, ok := fields[f]; !ok {
			return ConnectionString{}, csErr(f + " is missing; " + whereToFind)
		}
	}
	cs := ConnectionString{HostName: fields[fieldHostName], KeyName: fields[fieldKeyName]}
	if err := checkHostName(cs.HostName, whereToFind); err != nil {
		return ConnectionString{}, err
	}
	if reason := fl.wrongService(cs.HostName); reason != "" {
		return ConnectionString{}, csErr(reason)
	}
	if !validKeyName(cs.KeyName) {
		return ConnectionString{}, csErr("SharedAccessKeyName may hold only letters, digits and - _ . @; " + whereToFind)
	}
	k, err := ParseKey(fields[fieldKey])
	if err != nil {
		// The ParseKey error says what is wrong with the key without quoting it.
		return ConnectionString{}, csErr("SharedAccessKey is unusable (" + strings.TrimPrefix(err.Error(), ErrKey.Error()+": ") + "); " + whereToFind)
	}
	cs.Key = k
	return cs, nil
}

// canonicalField maps a field name to its canonical spelling, and explains the usual mistakes:
// an IoT Hub device connection string, or a token instead of a key.
func canonicalField(name string, fl flavor) (string, error) {
	whereToFind := fl.whereToFind
	for _, f := range []string{fieldHostName, fieldKeyName, fieldKey} {
		if strings.EqualFold(name, f) {
			return f, nil
		}
	}
	switch strings.ToLower(name) {
	case "deviceid", "moduleid", "x509", "gatewayhostname":
		return "", csErr(fl.deviceString)
	case "sharedaccesssignature":
		return "", csErr("this connection string carries a SAS token; one with the policy's key is needed: " + whereToFind)
	case "endpoint", "entitypath":
		return "", csErr("this is an Event Hubs or Service Bus connection string; " + whereToFind)
	}
	// The unknown name is not quoted: in a mangled paste it may hold part of the key.
	return "", csErr("unknown field: only HostName, SharedAccessKeyName and SharedAccessKey belong here; " + whereToFind)
}

// checkHostName accepts a DNS name (letters, digits, '-', '_', '.') with an optional ":PORT".
// Azure's host names never carry a port; a local emulator's do, and the port is then part of
// what tokens are signed for. A scheme or a path belongs in the client's endpoint option.
func checkHostName(h, whereToFind string) error {
	if strings.Contains(h, "://") || strings.Contains(h, "/") {
		return csErr("HostName must be a host name, without scheme or path (set a different endpoint in the client options instead)")
	}
	if host, port, ok := strings.Cut(h, ":"); ok {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return csErr("HostName's port is not a number from 1 to 65535; " + whereToFind)
		}
		h = host
	}
	if h == "" {
		return csErr("HostName is empty; " + whereToFind)
	}
	if len(h) > 253 {
		return csErr("HostName is longer than a host name can be; " + whereToFind)
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return csErr("HostName holds characters a host name cannot; " + whereToFind)
		}
	}
	return nil
}

func validKeyName(n string) bool {
	if len(n) > 256 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '@') {
			return false
		}
	}
	return true
}

func csErr(reason string) error { return &ConnectionStringError{Reason: reason} }

// Resource returns what service tokens are signed for: the host name, lower-cased, since host
// names are case-insensitive and the SDKs sign for the name as the portal shows it (lower case).
func (c ConnectionString) Resource() string { return strings.ToLower(c.HostName) }

// Token signs a service token for this connection string's host and policy, valid until expiry.
func (c ConnectionString) Token(ctx context.Context, expiry time.Time) (string, error) {
	return NewToken(ctx, c.Key, c.Resource(), c.KeyName, expiry)
}

// String returns the connection string with the key replaced by a placeholder.
func (c ConnectionString) String() string {
	return fieldHostName + "=" + c.HostName + ";" + fieldKeyName + "=" + c.KeyName + ";" + fieldKey + "=" + redacted
}

// GoString is String, for %#v.
func (c ConnectionString) GoString() string { return "sas.ConnectionString(" + c.String() + ")" }

// Format prints the redacted form for every verb.
func (c ConnectionString) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// Secret returns the full connection string, key included, for storing it on purpose (in a file
// readable only by its owner). Never log it.
func (c ConnectionString) Secret() string {
	return fieldHostName + "=" + c.HostName + ";" + fieldKeyName + "=" + c.KeyName + ";" + fieldKey + "=" + c.Key.Base64()
}

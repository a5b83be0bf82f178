package cli

import (
	"encoding/base64"
	"strings"
)

// secretsGo says where secrets go instead of argv.
const secretsGo = "put a connection string in $DPS_CONNECTION_STRING or in a file only you can read " +
	"(chmod 600) named by --connection-string-file, and change the key if it was typed here " +
	"(a portal API token is sent only in an Authorization header: revoke one typed here)"

// secretMarkers are the parts of Azure connection strings and SAS tokens that only a secret has,
// and the prefix of the portal's API tokens.
var secretMarkers = []string{"sharedaccesskey=", "sharedaccesssignature", "sig=", "accountkey=", "oobp_"}

// SecretArg returns the index of the first argument that looks like a secret, or -1: a
// connection string or SAS token (by its key or signature part), a portal API token (oobp_…), or
// a bare shared access key (standard base64 of 32 or 64 bytes, as Azure makes them). A flag's
// value given as --flag=VALUE is judged by its value.
func SecretArg(args []string) int {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			if _, v, ok := strings.Cut(a, "="); ok {
				a = v
			}
		}
		if looksSecret(a) {
			return i
		}
	}
	return -1
}

func looksSecret(a string) bool {
	l := strings.ToLower(a)
	for _, m := range secretMarkers {
		if strings.Contains(l, m) {
			return true
		}
	}
	if len(a) != 44 && len(a) != 88 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(a)
	return err == nil && (len(b) == 32 || len(b) == 64)
}

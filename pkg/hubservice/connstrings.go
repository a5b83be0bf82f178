package hubservice

import (
	"fmt"
	"strings"

	"github.com/oobtpm/oob/pkg/sas"
)

// MaxHubs bounds how many connection strings ParseConnectionStrings accepts.
const MaxHubs = 256

// ParseConnectionStrings reads one IoT hub service connection string per line (the form of a
// connection strings file or environment variable). Blank lines and lines starting with '#' are
// skipped; every other line must parse with sas.ParseHubConnectionString, and no hub may appear
// twice. Errors name the line, never its key.
func ParseConnectionStrings(data []byte) ([]sas.ConnectionString, error) {
	var out []sas.ConnectionString
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n := i + 1
		cs, err := sas.ParseHubConnectionString(line)
		if err != nil {
			return nil, fmt.Errorf("hub connection strings, line %d: %w", n, err)
		}
		host := strings.ToLower(cs.HostName)
		if first, dup := seen[host]; dup {
			return nil, fmt.Errorf("hub connection strings, line %d: hub %s was given already on line %d: keep one connection string per hub", n, host, first)
		}
		if len(out) == MaxHubs {
			return nil, fmt.Errorf("hub connection strings, line %d: more than %d hubs", n, MaxHubs)
		}
		seen[host] = n
		out = append(out, cs)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hub connection strings: none found; give one per line, HostName=…;SharedAccessKeyName=…;SharedAccessKey=…")
	}
	return out, nil
}

// Package datadir is the DPS emulator's data directory: the names of the files it keeps there,
// the files scripts read to reach the service, the admin token, and atomic file writes.
package datadir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/sas"
)

// Files the emulator keeps in its data directory besides the CA (package tlsca): the store, and
// the files scripts read to reach it.
const (
	StoreFile            = "emulator.db"
	ConnectionStringFile = "service-connection-string"
	IDScopeFile          = "id-scope"
	AdminTokenFile       = "admin-token"
	// HubPolicyKeyFile holds the key of the emulated hubs' service policy (HubPolicyName), one for
	// every hub host name; HubConnectionStringFile is that policy's connection string for the
	// default hub. Both 0600.
	HubPolicyKeyFile        = "hub-policy-key"
	HubConnectionStringFile = "hub-connection-string"
)

// HubPolicyName is the emulated hubs' service policy, named as every IoT hub's owner policy.
const HubPolicyName = sas.DefaultHubPolicyName

// ServiceHostName is the host name clients use for a service listening on addr: name, with the
// port appended unless it is 443. Microsoft's clients take the connection string's HostName as
// the host to connect to on port 443 (the Node client cannot take a port at all), so they need the
// emulator on 443; clients that accept a host:port work with any port.
func ServiceHostName(name string, addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.Port == 443 {
		return name
	}
	return net.JoinHostPort(name, strconv.Itoa(tcp.Port))
}

// ConnectionString is the service connection string for id at hostName.
func ConnectionString(hostName string, id store.ServiceIdentity) string {
	return "HostName=" + hostName + ";SharedAccessKeyName=" + id.PolicyName + ";SharedAccessKey=" + id.PolicyKey
}

// WriteStartupFiles writes the files scripts read: the connection string (0600) and the ID scope.
func WriteStartupFiles(dir, hostName string, id store.ServiceIdentity) error {
	if err := WriteFileAtomic(filepath.Join(dir, ConnectionStringFile), []byte(ConnectionString(hostName, id)+"\n"), 0o600); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, IDScopeFile), []byte(id.IDScope+"\n"), 0o644)
}

// HubConnectionString is the service connection string of the emulated hub hubHost: every hub
// shares the data directory's one policy.
func HubConnectionString(hubHost string, key sas.Key) string {
	return "HostName=" + hubHost + ";SharedAccessKeyName=" + HubPolicyName + ";SharedAccessKey=" + key.Base64()
}

// WriteHubConnectionString writes the default hub's service connection string (0600).
func WriteHubConnectionString(dir, hubHost string, key sas.Key) error {
	return WriteFileAtomic(filepath.Join(dir, HubConnectionStringFile), []byte(HubConnectionString(hubHost, key)+"\n"), 0o600)
}

// LoadOrCreateHubPolicyKey returns the hubs' service policy key from dir, creating a random
// 32-byte one (mode 0600) when there is none.
func LoadOrCreateHubPolicyKey(dir string) (sas.Key, error) {
	path := filepath.Join(dir, HubPolicyKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := sas.ParseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return sas.Key{}, fmt.Errorf("emulator: %s: %w; delete it to have a new key made", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return sas.Key{}, fmt.Errorf("emulator: read hub policy key: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return sas.Key{}, err
	}
	k := sas.NewKey(raw[:])
	if err := WriteFileAtomic(path, []byte(k.Base64()+"\n"), 0o600); err != nil {
		return sas.Key{}, err
	}
	return k, nil
}

// LoadOrCreateAdminToken returns the admin token from dir, creating a random one (mode 0600)
// when there is none.
func LoadOrCreateAdminToken(dir string) (string, error) {
	path := filepath.Join(dir, AdminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("emulator: read admin token: %w", err)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := WriteFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", err
	}
	return tok, nil
}

// WriteFileAtomic replaces path with data: a temporary file in the same directory, fsynced,
// renamed over path, and the directory fsynced, so readers see the old or the new file, whole.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

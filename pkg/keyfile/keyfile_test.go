package keyfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteThenRead(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "device.key.pem")
	if err := Write(path, k); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("not PKCS#8 PEM:\n%s", b)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Equal(got) {
		t.Error("read back another key")
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := Encode(rk)
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.pem"), "does not exist"},
		{"readable by others", write("open.pem", good, 0o644), "run `chmod 600"},
		{"not PEM", write("text.pem", []byte("hello"), 0o600), "no PEM block"},
		{"a certificate", write("cert.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600), `"CERTIFICATE" block`},
		{"two keys", write("two.pem", append(append([]byte{}, good...), good...), 0o600), "more than one PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := Read(filepath.Join(dir, "none.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
	if k, err := Read(write("rsa.pem", good, 0o600)); err != nil || !rk.Equal(k) {
		t.Errorf("an RSA PKCS#8 key: %v", err)
	}
}

func TestParseSkipsECParameters(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Encode(k)
	// What `openssl ecparam -name prime256v1 -genkey` writes before the key.
	params := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	got, err := Parse(append([]byte(params), b...))
	if err != nil || !k.Equal(got) {
		t.Fatalf("got %v; want the key after the parameters", err)
	}
}

package est

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smallstep/pkcs7"
)

// golden reads a file the factory's EST server wrote (go test -update, client_test.go).
func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCertsOnlyGolden(t *testing.T) {
	certs, err := ParseCertsOnly(golden(t, "simpleenroll.b64"))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 || !strings.Contains(certs[0].Subject.CommonName, "-") || !certs[2].IsCA {
		t.Fatalf("got %d certificates; want leaf, intermediate and root", len(certs))
	}
	if pemChain := EncodePEM(certs); !bytes.Equal(pemChain, golden(t, "chain.pem")) {
		t.Error("EncodePEM differs from testdata/chain.pem")
	}
	back, err := ParsePEM(golden(t, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range certs {
		if !back[i].Equal(certs[i]) {
			t.Errorf("certificate %d changed through PEM", i)
		}
	}
	// The same answer on one line, with CRLFs, or with spaces is the same answer.
	one := strings.NewReplacer("\n", "").Replace(string(golden(t, "simpleenroll.b64")))
	for _, variant := range []string{one, strings.ReplaceAll(string(golden(t, "simpleenroll.b64")), "\n", "\r\n"), " " + one + " \n"} {
		if got, err := ParseCertsOnly([]byte(variant)); err != nil || len(got) != 3 {
			t.Errorf("variant: %d certificates, %v", len(got), err)
		}
	}
}

func TestParseCertsOnlyRefuses(t *testing.T) {
	valid := golden(t, "simpleenroll.b64")
	der, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(valid), "\n", ""))
	empty, err := pkcs7.DegenerateCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"empty":           nil,
		"not base64":      []byte("<html>502 Bad Gateway</html>"),
		"DER, not base64": der,
		"truncated":       valid[:len(valid)/2],
		"not PKCS#7":      []byte(base64.StdEncoding.EncodeToString([]byte("hello"))),
		"no certificate":  []byte(base64.StdEncoding.EncodeToString(empty)),
		"too large":       bytes.Repeat([]byte("A"), MaxResponseBytes+4),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseCertsOnly(body); !errors.Is(err, ErrBadResponse) {
				t.Errorf("got %v, want ErrBadResponse", err)
			}
		})
	}
}

func TestParsePEMRefuses(t *testing.T) {
	chain := golden(t, "chain.pem")
	key := []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	for name, b := range map[string][]byte{
		"empty":         nil,
		"a key":         key,
		"a key after":   append(append([]byte{}, chain...), key...),
		"trailing text": append(append([]byte{}, chain...), "garbage"...),
		"bad DER":       []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePEM(b); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// FuzzParseCertsOnly feeds the response parser what a server, or something in its place, might
// send. Whatever it accepts must re-encode to certificates that parse the same.
func FuzzParseCertsOnly(f *testing.F) {
	f.Add(golden(f, "simpleenroll.b64"))
	der, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(golden(f, "simpleenroll.b64")), "\n", ""))
	f.Add([]byte(base64.StdEncoding.EncodeToString(der[:len(der)/3])))
	f.Add([]byte("MIIB"))
	f.Fuzz(func(t *testing.T, body []byte) {
		certs, err := ParseCertsOnly(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v is not ErrBadResponse", err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("accepted an answer without certificates")
		}
		back, err := ParsePEM(EncodePEM(certs))
		if err != nil || len(back) != len(certs) {
			t.Fatalf("accepted certificates do not round-trip through PEM: %v", err)
		}
	})
}

// FuzzParsePEM feeds the stored chain's parser damaged chains.
func FuzzParsePEM(f *testing.F) {
	f.Add(golden(f, "chain.pem"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := ParsePEM(b)
		if err != nil {
			return
		}
		for _, c := range certs {
			if _, err := x509.ParseCertificate(c.Raw); err != nil {
				t.Fatalf("accepted a certificate that does not parse: %v", err)
			}
		}
	})
}

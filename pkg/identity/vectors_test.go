package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected payloads in testdata/vectors.json")

const vectorsFile = "testdata/vectors.json"

// vector is one golden test vector. The EKs were made by the TPM 2.0 reference simulator
// (go-tpm-tools, fixed seed): "standard-ek" from the TCG default RSA-2048 EK template, and
// "non-standard-ek" from the SRK template in the endorsement hierarchy.
type vector struct {
	Name string `json:"name"`
	// Inputs.
	EK       string `json:"ek"` // standard base64 of the TPM2B_PUBLIC
	OEMRegID string `json:"oemRegid,omitempty"`
	Label    string `json:"label,omitempty"`
	// Expected outputs.
	RegID  string `json:"regid"` // the registration ID Parse returns
	V1     string `json:"v1"`
	Legacy string `json:"legacy,omitempty"` // only when the legacy format can carry it
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	return f.Vectors
}

func (v vector) identity(t testing.TB) Identity {
	t.Helper()
	ek, err := base64.StdEncoding.DecodeString(v.EK)
	if err != nil {
		t.Fatalf("%s: ek: %v", v.Name, err)
	}
	return Identity{EndorsementKey: ek, RegistrationID: v.OEMRegID, Label: v.Label}
}

// TestVectors checks Encode and Parse against the golden vectors; -update rewrites the
// expected outputs from the inputs.
func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	for i, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			in := v.identity(t)
			v1, err := Encode(in, FormatV1)
			if err != nil {
				t.Fatalf("Encode v1: %v", err)
			}
			legacy, legacyErr := Encode(in, FormatLegacy)
			if v.OEMRegID == "" && v.Label == "" && legacyErr != nil {
				t.Fatalf("Encode legacy: %v", legacyErr)
			}
			want := in
			if want.RegistrationID == "" {
				want.RegistrationID = DeriveRegistrationID(in.EndorsementKey)
			}
			if *update {
				vs[i].V1, vs[i].RegID, vs[i].Legacy = v1, want.RegistrationID, ""
				if legacyErr == nil {
					vs[i].Legacy = legacy
				}
				return
			}
			if v1 != v.V1 {
				t.Errorf("Encode v1 =\n%s\nwant\n%s", v1, v.V1)
			}
			if want.RegistrationID != v.RegID {
				t.Errorf("registration ID %q, want %q", want.RegistrationID, v.RegID)
			}
			if v.Legacy != "" && legacy != v.Legacy {
				t.Errorf("Encode legacy =\n%s\nwant\n%s", legacy, v.Legacy)
			}
			for _, payload := range []string{v.V1, v.Legacy} {
				if payload == "" {
					continue
				}
				got, err := Parse(payload)
				if err != nil {
					t.Fatalf("Parse(%.20q…): %v", payload, err)
				}
				assertSameIdentity(t, got, want)
			}
		})
	}
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Vectors []vector `json:"vectors"`
		}{vs}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func assertSameIdentity(t testing.TB, v Verified, want Identity) {
	t.Helper()
	got := v.Identity()
	if got.RegistrationID != want.RegistrationID || got.Label != want.Label ||
		!bytes.Equal(got.EndorsementKey, want.EndorsementKey) {
		t.Errorf("identity = {regid %q, label %q, ek %d bytes}, want {regid %q, label %q, ek %d bytes}",
			got.RegistrationID, got.Label, len(got.EndorsementKey),
			want.RegistrationID, want.Label, len(want.EndorsementKey))
	}
}

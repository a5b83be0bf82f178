package identity

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary text, seeded with the golden payloads and damaged variants.
// Parse must never panic, and whatever it accepts must survive Encode and Parse unchanged.
func FuzzParse(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.V1)
		f.Add(v.V1[:len(v.V1)/2])
		f.Add(v.V1 + "*X")
		if v.Legacy != "" {
			f.Add(v.Legacy)
			f.Add(v.Legacy[:len(v.Legacy)-2])
		}
	}
	std := standardTestEK(f)
	f.Add("OOB1:P" + string(appendDigits(nil, std)))
	f.Add(loadVectors(f)[0].V1 + "*R" + strings.ToUpper(DeriveRegistrationID(std)))
	f.Add("OOB1:M")
	f.Add("OOB1:P00000")
	f.Add("OOB2:M1")
	f.Add("WIFI:S:x;;")
	f.Add(`{"regid":"a","ek":"AAA="}`)
	f.Fuzz(func(t *testing.T, text string) {
		v, err := Parse(text)
		if err != nil {
			return
		}
		id := v.Identity()
		if id.RegistrationID == "" || ValidateEK(id.EndorsementKey) != nil {
			t.Fatalf("Parse(%q) returned an invalid identity", text)
		}
		formats := []Format{FormatV1}
		if id.Derived() && id.Label == "" {
			formats = append(formats, FormatLegacy)
		}
		for _, f := range formats {
			again, err := Encode(id, f)
			if err != nil {
				t.Fatalf("Encode(Parse(%q), %v): %v", text, f, err)
			}
			id2, err := Parse(again)
			if err != nil {
				t.Fatalf("Parse(Encode(Parse(%q), %v)): %v", text, f, err)
			}
			if id2.RegistrationID() != id.RegistrationID || id2.Label() != id.Label || !bytes.Equal(id2.EndorsementKey(), id.EndorsementKey) {
				t.Fatalf("%q: identity changed through %v", text, f)
			}
		}
	})
}

// FuzzParseEK feeds ParseEK arbitrary bytes, seeded with the test EKs and their wrong formats.
// It must never panic, and an EK it accepts must be self-consistent.
func FuzzParseEK(f *testing.F) {
	for _, v := range loadVectors(f) {
		ek, err := base64.StdEncoding.DecodeString(v.EK)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ek)
		f.Add(ek[2:])
		f.Add(ek[:len(ek)-1])
		f.Add(tpm2Tools3(ek))
		f.Add([]byte(v.EK))
	}
	f.Add(eccTestEK(f))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ek, err := ParseEK(b)
		if err != nil {
			return
		}
		if !bytes.Equal(ek.TPM2BPublic, b) || len(ek.Modulus) != ModulusLen {
			t.Fatal("EK fields do not match the input")
		}
		if ek.Standard != bytes.Equal(StandardEK(ek.Modulus), b) {
			t.Fatal("Standard is wrong")
		}
		text, err := Encode(Identity{EndorsementKey: b}, FormatV1)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		id, err := Parse(text)
		if err != nil || !bytes.Equal(id.EndorsementKey(), b) {
			t.Fatalf("Parse(Encode): %v", err)
		}
	})
}

package tpm

import (
	"errors"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Spec
	}{
		{"", Spec{Device: "/dev/tpmrm0"}},
		{"/dev/tpmrm0", Spec{Device: "/dev/tpmrm0"}},
		{"/dev/tpm0", Spec{Device: "/dev/tpm0"}},
		{"tcp://127.0.0.1:2321", Spec{Addr: "127.0.0.1:2321"}},
		{"tcp://localhost:2321", Spec{Addr: "localhost:2321"}},
		{"tcp://[::1]:2321", Spec{Addr: "[::1]:2321"}},
	} {
		got, err := ParseSpec(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := ParseSpec(got.String()); err != nil || again != got {
			t.Errorf("ParseSpec(%q.String()) = %+v, %v", tc.in, again, err)
		}
	}
	for _, bad := range []string{
		"tpmrm0", "dev/tpm0", "tcp://", "tcp://host", "tcp://:2321", "tcp://host:0", "tcp://host:65536",
		"tcp://host:port", "tcp://host:2321/x", "mssim://127.0.0.1:2321", "swtpm:host=127.0.0.1,port=2321",
	} {
		if _, err := ParseSpec(bad); !errors.Is(err, ErrBadSpec) {
			t.Errorf("ParseSpec(%q): %v, want ErrBadSpec", bad, err)
		}
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"", "/dev/tpmrm0", "tcp://127.0.0.1:2321", "tcp://[::1]:1", "tcp://a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpec(s)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("ParseSpec(%q): %v is not ErrBadSpec", s, err)
			}
			return
		}
		if (spec.Device == "") == (spec.Addr == "") {
			t.Fatalf("ParseSpec(%q) = %+v: want exactly one of Device and Addr", s, spec)
		}
		if again, err := ParseSpec(spec.String()); err != nil || again != spec {
			t.Fatalf("ParseSpec(%q) = %+v does not round-trip: %+v, %v", s, spec, again, err)
		}
	})
}

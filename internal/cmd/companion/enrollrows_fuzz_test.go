package companion

import (
	"bytes"
	"testing"
)

// FuzzParseRows feeds --from files, JSON lines and CSV, good and bad, to the row parser: it must
// never panic, every row it accepts must be a verified identity on a line that exists, and no
// registration ID may come back twice.
func FuzzParseRows(f *testing.F) {
	f.Add([]byte(`{"registrationId":"` + goodRegID + `","endorsementKey":"` + goodEK + `","deviceId":"d1","tags":{"a":"b"}}` + "\n"))
	f.Add([]byte("registrationId,endorsementKey,ekCertificate,deviceId,tags\n" + goodRegID + "," + goodEK + ",,d1,a=b;c=d\n"))
	f.Add([]byte(goodRegID + "," + goodEK + "\n" + goodRegID + "," + goodEK + "\n"))
	f.Add([]byte(`{"registrationId":"x","endorsementKey":"AAAA","ekCertificate":"MAA="}`))
	f.Add([]byte("\"unterminated,quote\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, bad, err := parseRows(bytes.NewReader(data))
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		seen := map[string]bool{}
		for _, r := range rows {
			if r.ID.IsZero() || r.Line < 1 || r.Line > lines || seen[r.ID.RegistrationID()] {
				t.Fatalf("row %+v accepted", r)
			}
			seen[r.ID.RegistrationID()] = true
		}
		for _, b := range bad {
			if b.Line < 1 || b.Line > lines || b.Err == nil {
				t.Fatalf("bad row %+v", b)
			}
		}
	})
}

func FuzzParseCSVTags(f *testing.F) {
	f.Add("line=4;shift=night")
	f.Add("a=b;a=c")
	f.Add(";=;")
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := parseCSVTags(s)
		if err == nil && len(tags) > 0 && !bytes.Contains([]byte(s), []byte("=")) {
			t.Fatalf("tags %v from %q", tags, s)
		}
	})
}

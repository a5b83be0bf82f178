package est

import (
	"encoding/base64"
	"errors"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	f.Add(b64(csr(f, guid, p256(f))))
	f.Add([]byte(base64.StdEncoding.EncodeToString(csr(f, "board", p256(f)))))
	f.Add([]byte("MIIB"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(body)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error outside ErrBadRequest: %v", err)
			}
			return
		}
		if req.CSR.CheckSignature() != nil || req.GUID != req.CSR.Subject.CommonName {
			t.Fatal("accepted a request that does not check out")
		}
	})
}

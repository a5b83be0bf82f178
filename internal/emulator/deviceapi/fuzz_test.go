package deviceapi

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzDeviceRegistrationBody feeds arbitrary bytes to the register body parser: it must never
// panic, and what it accepts must name the path's device and carry decodable TPM keys.
func FuzzDeviceRegistrationBody(f *testing.F) {
	f.Add([]byte(`{"registrationId":"fuzz-dev"}`))
	f.Add([]byte(`{"registrationId":"fuzz-dev","payload":{"a":[1,2]}}`))
	f.Add([]byte(`{"registrationId":"fuzz-dev","tpm":{"endorsementKey":"AToAAQALAAMAsgAg","storageRootKey":"AToAAQ=="}}`))
	f.Add([]byte(`{"registrationId":"fuzz-dev","tpm":{"endorsementKey":"!!"}}`))
	f.Add([]byte(`{"registrationId":"fuzz-dev"} {}`))
	f.Add([]byte(`{"registrationId":"other","unknown":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, apiErr := decodeDeviceRegistration(body, "fuzz-dev")
		if apiErr != nil {
			if apiErr.Status != 400 {
				t.Fatalf("status %d for a bad body", apiErr.Status)
			}
			return
		}
		if req.RegistrationID != "fuzz-dev" {
			t.Fatalf("accepted a body for %q", req.RegistrationID)
		}
		if req.TPM != nil {
			if _, err := base64.StdEncoding.DecodeString(req.TPM.EndorsementKey); err != nil || req.TPM.EndorsementKey == "" {
				t.Fatalf("accepted endorsement key %q", req.TPM.EndorsementKey)
			}
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatalf("accepted body does not marshal: %v", err)
		}
	})
}

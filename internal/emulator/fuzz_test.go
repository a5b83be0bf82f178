package emulator

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// FuzzEnrollmentBody feeds arbitrary bytes to the enrollment and bulk body parsers, which read
// outside input: they must never panic, and whatever they accept must be a valid record.
func FuzzEnrollmentBody(f *testing.F) {
	tpm, _ := json.Marshal(tpmEnrollment(f, "fuzz-dev"))
	f.Add(tpm)
	f.Add([]byte(`{"registrationId":"fuzz-dev","attestation":{"type":"symmetricKey","symmetricKey":{"primaryKey":"MDEyMzQ1Njc4OWFiY2RlZg=="}}}`))
	f.Add([]byte(`{"registrationId":"fuzz-dev","attestation":{"type":"x509","x509":{"clientCertificates":{"primary":{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}}}}}`))
	f.Add([]byte(`{"registrationId":"fuzz-dev","attestation":{"type":"tpm","tpm":{"endorsementKey":"AToAAQALAAMAsgAg"}},"initialTwin":{"tags":{"a":1}}}`))
	f.Add([]byte(`{"mode":"create","enrollments":[{"registrationId":"a"},{"registrationId":"b","etag":"x"}]}`))
	f.Add([]byte(`null`))
	s := &Server{}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, apiErr := s.decodeEnrollment(body, "")
		if apiErr == nil {
			if !validRegistrationID(e.RegistrationID) || e.Attestation == nil || e.ProvisioningStatus == "" {
				t.Fatalf("accepted an invalid enrollment: %+v", e)
			}
			if _, err := json.Marshal(e); err != nil {
				t.Fatalf("accepted enrollment does not marshal: %v", err)
			}
		}
		var req bulkRequest
		if json.Unmarshal(body, &req) == nil && len(req.Enrollments) <= dpsapi.MaxBulkEnrollments {
			s.parseBulkItems(req)
		}
	})
}

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

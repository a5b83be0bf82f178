package emulator

import (
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

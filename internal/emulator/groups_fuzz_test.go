package emulator

import (
	"encoding/json"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// FuzzEnrollmentGroupBody feeds arbitrary bytes to the enrollment group body parser, which reads
// outside input: it must never panic, and whatever it accepts must be a valid group: an ID by the
// registration ID rules, a symmetric-key (with both keys) or X.509 attestation, never TPM.
func FuzzEnrollmentGroupBody(f *testing.F) {
	f.Add([]byte(`{"enrollmentGroupId":"line-1","attestation":{"type":"symmetricKey"}}`))
	f.Add([]byte(`{"enrollmentGroupId":"line-1","attestation":{"type":"symmetricKey","symmetricKey":{"primaryKey":"MDEyMzQ1Njc4OWFiY2RlZg=="}},"iotHubs":["h"],"initialTwin":{"tags":{"a":1}}}`))
	f.Add([]byte(`{"enrollmentGroupId":"line-1","attestation":{"type":"x509","x509":{"caReferences":{"primary":"ca"}}}}`))
	f.Add([]byte(`{"enrollmentGroupId":"line-1","attestation":{"type":"x509","x509":{"signingCertificates":{"primary":{"certificate":"AAAA"}}}}}`))
	f.Add([]byte(`{"enrollmentGroupId":"line-1","attestation":{"type":"tpm","tpm":{"endorsementKey":"AToAAQALAAMAsgAg"}}}`))
	f.Add([]byte(`{"attestation":{"type":"SYMMETRICKEY"},"provisioningStatus":"disabled"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		g, apiErr := decodeGroup(body, "")
		if apiErr != nil {
			if apiErr.Status != 400 {
				t.Fatalf("status %d for a bad body", apiErr.Status)
			}
			return
		}
		a := g.Attestation
		if !validRegistrationID(g.EnrollmentGroupID) || a == nil || g.ProvisioningStatus == "" || a.TPM != nil {
			t.Fatalf("accepted an invalid group: %+v", g)
		}
		switch a.Type {
		case dpsapi.AttestationSymmetricKey:
			if a.SymmetricKey == nil || a.SymmetricKey.PrimaryKey == "" || a.SymmetricKey.SecondaryKey == "" {
				t.Fatalf("accepted a group without keys: %+v", a)
			}
		case dpsapi.AttestationX509:
			if a.X509 == nil || a.X509.ClientCertificates != nil {
				t.Fatalf("accepted an X.509 group with client certificates or none: %+v", a)
			}
		default:
			t.Fatalf("accepted attestation %q", a.Type)
		}
		if _, err := json.Marshal(g); err != nil {
			t.Fatalf("accepted group does not marshal: %v", err)
		}
	})
}

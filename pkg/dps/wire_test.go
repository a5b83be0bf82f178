package dps

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// TestWireRoundTrip decodes enrollments as the service returns them and encodes them again:
// every member must survive, twin contents included, or a read-modify-write (enable, disable)
// would silently drop what the operator set.
func TestWireRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/enrollment-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden enrollments: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(in))
			dec.DisallowUnknownFields() // every member of the golden files has a field
			var e dpsapi.IndividualEnrollment
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(in, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed the enrollment:\n in: %s\nout: %s", compact(t, in), out)
			}
		})
	}
}

func TestDecodeTPMEnrollment(t *testing.T) {
	in, err := os.ReadFile("testdata/enrollment-tpm.json")
	if err != nil {
		t.Fatal(err)
	}
	var e dpsapi.IndividualEnrollment
	if err := json.Unmarshal(in, &e); err != nil {
		t.Fatal(err)
	}
	if e.Attestation == nil || e.Attestation.Type != dpsapi.AttestationTPM || e.Attestation.TPM == nil {
		t.Fatalf("attestation = %+v", e.Attestation)
	}
	if e.RegistrationState == nil || e.RegistrationState.Status != dpsapi.RegistrationAssigned ||
		e.RegistrationState.Substatus != dpsapi.SubstatusInitialAssignment {
		t.Errorf("registration state = %+v", e.RegistrationState)
	}
	// The service writes seven fractional digits; they must survive.
	want := time.Date(2024, 3, 5, 10, 15, 30, 123456700, time.UTC)
	if !e.RegistrationState.CreatedDateTimeUTC.Equal(want) {
		t.Errorf("created = %v, want %v", e.RegistrationState.CreatedDateTimeUTC, want)
	}
	if e.ProvisioningStatus != dpsapi.StatusEnabled || e.AllocationPolicy != dpsapi.AllocationStatic {
		t.Errorf("status %q policy %q", e.ProvisioningStatus, e.AllocationPolicy)
	}
}

// TestCreateBodyNames pins the member names and omissions of what the companion sends: the
// service rejects misspelled members silently by ignoring them, so a wrong tag is a lost setting.
func TestCreateBodyNames(t *testing.T) {
	e := dpsapi.IndividualEnrollment{
		RegistrationID: "reg-1",
		DeviceID:       "dev-1",
		Attestation: &dpsapi.Attestation{Type: dpsapi.AttestationTPM, TPM: &dpsapi.TPMAttestation{
			EndorsementKey: "AToAAQ==",
		}},
		Capabilities:       &dpsapi.Capabilities{IoTEdge: false},
		IoTHubHostName:     "hub.azure-devices.net",
		InitialTwin:        &dpsapi.InitialTwin{Tags: json.RawMessage(`{"line":"3"}`), Properties: &dpsapi.InitialTwinProperties{Desired: json.RawMessage(`{"a":1}`)}},
		ProvisioningStatus: dpsapi.StatusDisabled,
		ReprovisionPolicy:  &dpsapi.ReprovisionPolicy{UpdateHubAssignment: true, MigrateDeviceData: false},
	}
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"registrationId":"reg-1","deviceId":"dev-1","attestation":{"type":"tpm","tpm":{"endorsementKey":"AToAAQ=="}},` +
		`"capabilities":{"iotEdge":false},"iotHubHostName":"hub.azure-devices.net",` +
		`"initialTwin":{"tags":{"line":"3"},"properties":{"desired":{"a":1}}},"provisioningStatus":"disabled",` +
		`"reprovisionPolicy":{"updateHubAssignment":true,"migrateDeviceData":false}}`
	if string(got) != want {
		t.Errorf("create body =\n %s\nwant\n %s", got, want)
	}
}

func TestBulkAndErrorNames(t *testing.T) {
	op := dpsapi.BulkEnrollmentOperation{Mode: dpsapi.BulkUpdateIfMatchETag, Enrollments: []dpsapi.IndividualEnrollment{{RegistrationID: "a", ETag: `"1"`}}}
	got, _ := json.Marshal(op)
	if want := `{"enrollments":[{"registrationId":"a","etag":"\"1\""}],"mode":"updateIfMatchETag"}`; string(got) != want {
		t.Errorf("bulk body = %s, want %s", got, want)
	}
	var res dpsapi.BulkEnrollmentOperationResult
	in := `{"isSuccessful":false,"errors":[{"registrationId":"a","errorCode":409201,"errorStatus":"Enrollment already exists"}]}`
	if err := json.Unmarshal([]byte(in), &res); err != nil {
		t.Fatal(err)
	}
	if res.IsSuccessful || len(res.Errors) != 1 || res.Errors[0].ErrorCode != 409201 || res.Errors[0].RegistrationID != "a" {
		t.Errorf("bulk result = %+v", res)
	}
	var ed dpsapi.ErrorDetails
	in = `{"errorCode":404201,"trackingId":"abc","message":"Enrollment not found","timestampUtc":"2024-03-05T10:15:30.1234567Z","info":{"k":"v"}}`
	if err := json.Unmarshal([]byte(in), &ed); err != nil {
		t.Fatal(err)
	}
	if ed.ErrorCode != 404201 || ed.TrackingID != "abc" || ed.Message != "Enrollment not found" || ed.Info["k"] != "v" {
		t.Errorf("error details = %+v", ed)
	}
	q, _ := json.Marshal(dpsapi.QuerySpecification{Query: "*"})
	if string(q) != `{"query":"*"}` {
		t.Errorf("query body = %s", q)
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/quote"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
)

// Limits the service applies to enrollment fields.
const (
	maxIDLength = 128
	// Symmetric keys decode to between 16 and 64 bytes; the service generates 64-byte keys.
	minSymmetricKeyBytes = 16
	maxSymmetricKeyBytes = 64
)

// decodeEnrollment parses one enrollment body and validates it as the service does. pathID, when
// non-empty, is the ID from the URL, which the body must agree with. It never panics on any input.
func (s *Server) decodeEnrollment(body []byte, pathID string) (*dpsapi.IndividualEnrollment, *httpapi.Error) {
	if apiErr := checkObjectFields(body); apiErr != nil {
		return nil, apiErr
	}
	var e dpsapi.IndividualEnrollment
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, httpapi.Errorf(httpapi.CodeMalformedBody, "The request body is not a valid individual enrollment: %s", httpapi.JSONProblem(err))
	}
	return s.validateEnrollment(&e, pathID)
}

// checkObjectFields looks at an enrollment's twin collections before it is decoded: an array or a
// string where an object belongs is a bad argument (400004), not a body the service cannot read
// (400006). A body that is not a JSON object is left for the decoder to report.
func checkObjectFields(body []byte) *httpapi.Error {
	var raw struct {
		InitialTwin                json.RawMessage `json:"initialTwin"`
		OptionalDeviceInformation  json.RawMessage `json:"optionalDeviceInformation"`
		CustomAllocationDefinition json.RawMessage `json:"customAllocationDefinition"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return nil
	}
	for name, v := range map[string]json.RawMessage{
		"initialTwin":                raw.InitialTwin,
		"optionalDeviceInformation":  raw.OptionalDeviceInformation,
		"customAllocationDefinition": raw.CustomAllocationDefinition,
	} {
		if !objectOrNull(v) {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "%s must be a JSON object.", name)
		}
	}
	return nil
}

// validateEnrollment checks e field by field, fills the defaults the service fills (status,
// policies, generated symmetric keys, certificate info) and drops read-only fields.
func (s *Server) validateEnrollment(e *dpsapi.IndividualEnrollment, pathID string) (*dpsapi.IndividualEnrollment, *httpapi.Error) {
	if e.RegistrationID == "" && pathID != "" {
		e.RegistrationID = pathID
	}
	if e.RegistrationID == "" {
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "registrationId is required.")
	}
	if !validRegistrationID(e.RegistrationID) {
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "Registration ID %q is invalid: use up to 128 lowercase letters, digits and '-', '.', '_', ':', starting and ending with a letter or digit.", quote.Short(e.RegistrationID))
	}
	if pathID != "" && pathID != e.RegistrationID {
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "The registrationId in the body (%q) does not match the one in the request path (%q).", quote.Short(e.RegistrationID), quote.Short(pathID))
	}
	if e.DeviceID != "" && !validDeviceID(e.DeviceID) {
		return nil, httpapi.Errorf(httpapi.CodeInvalidArgument, "Device ID %q is invalid: use up to 128 ASCII letters, digits and - . + %% _ # * ? ! ( ) , : = @ $ '.", quote.Short(e.DeviceID))
	}
	if apiErr := validateAttestation(e.Attestation, false); apiErr != nil {
		return nil, apiErr
	}
	if apiErr := validateSettings(settings{
		status: &e.ProvisioningStatus, allocation: e.AllocationPolicy, twin: e.InitialTwin,
		capabilities: &e.Capabilities, reprovision: &e.ReprovisionPolicy,
	}); apiErr != nil {
		return nil, apiErr
	}
	if httpapi.IsNull(e.OptionalDeviceInformation) {
		e.OptionalDeviceInformation = nil
	}
	// Read-only fields: the service computes them, whatever the caller sent.
	e.RegistrationState = nil
	e.ETag = ""
	e.CreatedDateTimeUTC = time.Time{}
	e.LastUpdatedDateTimeUTC = time.Time{}
	return e, nil
}

// settings are the fields individual enrollments and enrollment groups share: how a device is
// provisioned, whichever enrollment it comes through.
type settings struct {
	status       *dpsapi.ProvisioningStatus
	allocation   dpsapi.AllocationPolicy
	twin         *dpsapi.InitialTwin
	capabilities **dpsapi.Capabilities
	reprovision  **dpsapi.ReprovisionPolicy
}

// validateSettings checks the shared fields and fills the defaults the service fills: enabled,
// no capabilities, and a reprovision policy that moves the device and migrates its data.
func validateSettings(f settings) *httpapi.Error {
	switch *f.status {
	case "":
		*f.status = dpsapi.StatusEnabled
	case dpsapi.StatusEnabled, dpsapi.StatusDisabled:
	default:
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "provisioningStatus %q is invalid: use enabled or disabled.", quote.Short(string(*f.status)))
	}
	switch f.allocation {
	case "", dpsapi.AllocationHashed, dpsapi.AllocationGeoLatency, dpsapi.AllocationStatic, dpsapi.AllocationCustom:
	default:
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "allocationPolicy %q is invalid: use hashed, geoLatency, static or custom.", quote.Short(string(f.allocation)))
	}
	if t := f.twin; t != nil {
		if !objectOrNull(t.Tags) || t.Properties != nil && !objectOrNull(t.Properties.Desired) {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "initialTwin.tags and initialTwin.properties.desired must be JSON objects.")
		}
		if httpapi.IsNull(t.Tags) {
			t.Tags = nil
		}
		if t.Properties != nil && httpapi.IsNull(t.Properties.Desired) {
			t.Properties.Desired = nil
		}
	}
	if *f.capabilities == nil {
		*f.capabilities = &dpsapi.Capabilities{}
	}
	if *f.reprovision == nil {
		*f.reprovision = &dpsapi.ReprovisionPolicy{UpdateHubAssignment: true, MigrateDeviceData: true}
	}
	return nil
}

// validateAttestation checks the attestation mechanism of an individual enrollment or, when group
// is set, of an enrollment group, and keeps only the one its type names. An endorsement key must
// be what DPS can attest with: the TPM2B_PUBLIC of an RSA-2048 EK, checked by the same code that
// checks the EK a device shows in its QR code. Groups attest by symmetric key or by a signing
// certificate, never by TPM, as the service refuses.
func validateAttestation(a *dpsapi.Attestation, group bool) *httpapi.Error {
	if a == nil {
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation is required.")
	}
	switch strings.ToLower(string(a.Type)) {
	case "tpm":
		if group {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.type tpm is not supported for enrollment groups: use x509 or symmetricKey (or an individual enrollment per TPM device).")
		}
		a.Type, a.X509, a.SymmetricKey = dpsapi.AttestationTPM, nil, nil
		if a.TPM == nil || a.TPM.EndorsementKey == "" {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.tpm.endorsementKey is required for TPM attestation.")
		}
		ek, err := base64.StdEncoding.DecodeString(a.TPM.EndorsementKey)
		if err != nil {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "Endorsement key is invalid: not base64.")
		}
		if err := identity.ValidateEK(ek); err != nil {
			reason := strings.TrimPrefix(err.Error(), identity.ErrBadEK.Error()+": ")
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "Endorsement key is invalid: %s.", reason)
		}
		if a.TPM.StorageRootKey != "" {
			if _, err := base64.StdEncoding.DecodeString(a.TPM.StorageRootKey); err != nil {
				return httpapi.Errorf(httpapi.CodeInvalidArgument, "Storage root key is invalid: not base64.")
			}
		}
	case "x509":
		a.Type, a.TPM, a.SymmetricKey = dpsapi.AttestationX509, nil, nil
		if group {
			return validateGroupX509(a.X509)
		}
		return validateX509(a.X509)
	case "symmetrickey":
		a.Type, a.TPM, a.X509 = dpsapi.AttestationSymmetricKey, nil, nil
		if a.SymmetricKey == nil {
			a.SymmetricKey = &dpsapi.SymmetricKeyAttestation{}
		}
		for _, k := range []*string{&a.SymmetricKey.PrimaryKey, &a.SymmetricKey.SecondaryKey} {
			if *k == "" {
				*k = generateKey()
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(*k)
			if err != nil || len(raw) < minSymmetricKeyBytes || len(raw) > maxSymmetricKeyBytes {
				return httpapi.Errorf(httpapi.CodeInvalidArgument, "Symmetric key is invalid: it must be base64 of %d to %d bytes.", minSymmetricKeyBytes, maxSymmetricKeyBytes)
			}
		}
	case "":
		if group {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.type is required: x509 or symmetricKey.")
		}
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.type is required: tpm, x509 or symmetricKey.")
	default:
		if group {
			return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.type %q is not supported for enrollment groups: use x509 or symmetricKey.", quote.Short(string(a.Type)))
		}
		return httpapi.Errorf(httpapi.CodeInvalidArgument, "attestation.type %q is not supported for individual enrollments: use tpm, x509 or symmetricKey.", quote.Short(string(a.Type)))
	}
	return nil
}

// generateKey returns a fresh symmetric key of the size the service generates.
func generateKey() string {
	var b [maxSymmetricKeyBytes]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// validRegistrationID reports whether id follows the service's registration ID rules.
func validRegistrationID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if alnum {
			continue
		}
		if i == 0 || i == len(id)-1 || !strings.ContainsRune("-._:", rune(c)) {
			return false
		}
	}
	return true
}

// validDeviceID reports whether id is a valid IoT Hub device ID.
func validDeviceID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("-.+%_#*?!(),:=@$'", rune(c)) {
			return false
		}
	}
	return true
}

func objectOrNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || httpapi.IsNull(t) || t[0] == '{'
}

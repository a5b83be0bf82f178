package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
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
func (s *Server) decodeEnrollment(body []byte, pathID string) (*Enrollment, *apiError) {
	var e Enrollment
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, errorf(CodeMalformedBody, "The request body is not a valid individual enrollment: %s", jsonProblem(err))
	}
	return s.validateEnrollment(&e, pathID)
}

// validateEnrollment checks e field by field, fills the defaults the service fills (status,
// policies, generated symmetric keys, certificate info) and drops read-only fields.
func (s *Server) validateEnrollment(e *Enrollment, pathID string) (*Enrollment, *apiError) {
	if e.RegistrationID == "" && pathID != "" {
		e.RegistrationID = pathID
	}
	if e.RegistrationID == "" {
		return nil, errorf(CodeInvalidArgument, "registrationId is required.")
	}
	if !validRegistrationID(e.RegistrationID) {
		return nil, errorf(CodeInvalidArgument, "Registration ID %q is invalid: use up to 128 lowercase letters, digits and '-', '.', '_', ':', starting and ending with a letter or digit.", truncate(e.RegistrationID))
	}
	if pathID != "" && pathID != e.RegistrationID {
		return nil, errorf(CodeInvalidArgument, "The registrationId in the body (%q) does not match the one in the request path (%q).", truncate(e.RegistrationID), truncate(pathID))
	}
	if e.DeviceID != "" && !validDeviceID(e.DeviceID) {
		return nil, errorf(CodeInvalidArgument, "Device ID %q is invalid: use up to 128 ASCII letters, digits and - . + %% _ # * ? ! ( ) , : = @ $ '.", truncate(e.DeviceID))
	}
	if apiErr := s.validateAttestation(e); apiErr != nil {
		return nil, apiErr
	}
	switch e.ProvisioningStatus {
	case "":
		e.ProvisioningStatus = "enabled"
	case "enabled", "disabled":
	default:
		return nil, errorf(CodeInvalidArgument, "provisioningStatus %q is invalid: use enabled or disabled.", truncate(e.ProvisioningStatus))
	}
	switch e.AllocationPolicy {
	case "", "hashed", "geoLatency", "static", "custom":
	default:
		return nil, errorf(CodeInvalidArgument, "allocationPolicy %q is invalid: use hashed, geoLatency, static or custom.", truncate(e.AllocationPolicy))
	}
	for name, raw := range map[string]*json.RawMessage{
		"initialTwin":                &e.InitialTwin,
		"optionalDeviceInformation":  &e.OptionalDeviceInformation,
		"customAllocationDefinition": &e.CustomAllocationDefinition,
	} {
		if !objectOrNull(*raw) {
			return nil, errorf(CodeInvalidArgument, "%s must be a JSON object.", name)
		}
		if isNull(*raw) {
			*raw = nil
		}
	}
	if e.Capabilities == nil {
		e.Capabilities = &Capabilities{}
	}
	if e.ReprovisionPolicy == nil {
		e.ReprovisionPolicy = &ReprovisionPolicy{UpdateHubAssignment: true, MigrateDeviceData: true}
	}
	// Read-only fields: the service computes them, whatever the caller sent.
	e.RegistrationState = nil
	e.ETag = ""
	e.CreatedDateTimeUTC = ""
	e.LastUpdatedDateTimeUTC = ""
	return e, nil
}

// validateAttestation checks the attestation mechanism and keeps only the one its type names.
func (s *Server) validateAttestation(e *Enrollment) *apiError {
	a := e.Attestation
	if a == nil {
		return errorf(CodeInvalidArgument, "attestation is required.")
	}
	switch strings.ToLower(a.Type) {
	case "tpm":
		a.Type, a.X509, a.SymmetricKey = "tpm", nil, nil
		if a.TPM == nil || a.TPM.EndorsementKey == "" {
			return errorf(CodeInvalidArgument, "attestation.tpm.endorsementKey is required for TPM attestation.")
		}
		ek, err := base64.StdEncoding.DecodeString(a.TPM.EndorsementKey)
		if err != nil {
			return errorf(CodeInvalidArgument, "Endorsement key is invalid: not base64.")
		}
		if err := s.validateEK(ek); err != nil {
			return errorf(CodeInvalidArgument, "Endorsement key is invalid: %s. Send the EK's TPM2B_PUBLIC, size prefix included, in base64.", err)
		}
		if a.TPM.StorageRootKey != "" {
			if _, err := base64.StdEncoding.DecodeString(a.TPM.StorageRootKey); err != nil {
				return errorf(CodeInvalidArgument, "Storage root key is invalid: not base64.")
			}
		}
	case "x509":
		a.Type, a.TPM, a.SymmetricKey = "x509", nil, nil
		return validateX509(a.X509)
	case "symmetrickey":
		a.Type, a.TPM, a.X509 = "symmetricKey", nil, nil
		if a.SymmetricKey == nil {
			a.SymmetricKey = &SymmetricKeyAttestation{}
		}
		for _, k := range []*string{&a.SymmetricKey.PrimaryKey, &a.SymmetricKey.SecondaryKey} {
			if *k == "" {
				*k = generateKey()
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(*k)
			if err != nil || len(raw) < minSymmetricKeyBytes || len(raw) > maxSymmetricKeyBytes {
				return errorf(CodeInvalidArgument, "Symmetric key is invalid: it must be base64 of %d to %d bytes.", minSymmetricKeyBytes, maxSymmetricKeyBytes)
			}
		}
	case "":
		return errorf(CodeInvalidArgument, "attestation.type is required: tpm, x509 or symmetricKey.")
	default:
		return errorf(CodeInvalidArgument, "attestation.type %q is not supported for individual enrollments: use tpm, x509 or symmetricKey.", truncate(a.Type))
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
	return len(t) == 0 || isNull(t) || t[0] == '{'
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jsonProblem describes a decoding error without echoing large inputs back.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return "field " + typeErr.Field + " has the wrong type (" + typeErr.Value + ")"
	}
	return truncate(err.Error())
}

// truncate keeps caller-supplied text in messages short.
func truncate(s string) string {
	const max = 140
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

package deviceapi

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oobtpm/oob/internal/emulator/enrollcert"
	"github.com/oobtpm/oob/internal/emulator/httpapi"
	"github.com/oobtpm/oob/internal/emulator/store"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// decide ends an operation whose assignment delay has passed, from the enrollment (individual, or
// the group that admitted the device) as it is now:
// gone, or no longer accepting the device's credential → failed; disabled → disabled; otherwise
// the device is assigned to a hub as the enrollment and its reprovision policy say. It writes the
// registration state (what the service API and the enrollment show) and the device's hub
// identity.
func (s *API) decide(tx *store.Tx, now time.Time, op *store.Operation) error {
	e, err := enrollmentFor(tx, op)
	switch {
	case errors.Is(err, store.ErrNotFound) && op.GroupID != "":
		return s.groupStateGone(tx, now, op)
	case errors.Is(err, store.ErrNotFound):
		// Deleting the enrollment took the registration state with it: nothing to write.
		s.fail(op, httpapi.CodeEnrollmentNotFound, "The enrollment was deleted while the device was being assigned.")
		return nil
	case err != nil:
		return err
	case !credentialEnrolled(e, op):
		s.fail(op, httpapi.CodeUnauthorized, "The enrollment changed while the device was being assigned: it no longer holds the key or certificate the device registered with.")
		return writeResultState(tx, now, op)
	case e.ProvisioningStatus == dpsapi.StatusDisabled:
		op.Status = dpsapi.RegistrationDisabled
		op.Result = &dpsapi.DeviceRegistrationResult{RegistrationID: op.RegistrationID, Status: dpsapi.RegistrationDisabled}
		s.log.Info("device registration refused: enrollment disabled", "registrationId", op.RegistrationID, "operationId", op.ID)
		return writeResultState(tx, now, op)
	}

	prev, err := tx.Assignment(op.RegistrationID)
	if err != nil {
		return err
	}
	hub, substatus := s.placement(e, prev)
	if err := s.credentials(e, op, hub); err != nil {
		return err
	}
	if err := tx.Assign(op.RegistrationID, hub); err != nil {
		return err
	}
	op.Status = dpsapi.RegistrationAssigned
	op.Result.RegistrationID = op.RegistrationID
	op.Result.AssignedHub = hub.HostName
	op.Result.DeviceID = hub.DeviceID
	op.Result.Status = dpsapi.RegistrationAssigned
	op.Result.Substatus = string(substatus)
	s.log.Info("device assigned", "registrationId", op.RegistrationID, "hub", hub.HostName, "deviceId", hub.DeviceID, "substatus", substatus, "operationId", op.ID)
	return writeResultState(tx, now, op)
}

// fail ends the operation with an error.
func (s *API) fail(op *store.Operation, code int, msg string) {
	op.Status = dpsapi.RegistrationFailed
	op.Result = &dpsapi.DeviceRegistrationResult{
		RegistrationID: op.RegistrationID,
		Status:         dpsapi.RegistrationFailed,
		ErrorCode:      code,
		ErrorMessage:   msg,
	}
	s.log.Info("device registration failed", "registrationId", op.RegistrationID, "operationId", op.ID, "errorCode", code)
}

// placement decides the device's hub and device ID. The enrollment's hub (iotHubs[0], else
// iotHubHostName, else the emulator's default) is where a device goes the first time. A device
// registering again stays where it is when that is the same hub or when the reprovision policy
// does not update hub assignments (reprovisionedToInitialAssignment); otherwise it moves, with its
// data migrated or reset as the policy says.
func (s *API) placement(e *dpsapi.IndividualEnrollment, prev *store.Assignment) (*store.Assignment, dpsapi.Substatus) {
	want := s.hubHostName
	switch {
	case len(e.IoTHubs) > 0 && e.IoTHubs[0] != "":
		want = e.IoTHubs[0]
	case e.IoTHubHostName != "":
		want = e.IoTHubHostName
	}
	hub := &store.Assignment{HostName: want, DeviceID: e.DeviceID}
	if hub.DeviceID == "" {
		hub.DeviceID = e.RegistrationID
	}
	if prev == nil {
		return hub, dpsapi.SubstatusInitialAssignment
	}
	policy := dpsapi.ReprovisionPolicy{UpdateHubAssignment: true, MigrateDeviceData: true}
	if e.ReprovisionPolicy != nil {
		policy = *e.ReprovisionPolicy
	}
	switch {
	case strings.EqualFold(prev.HostName, want):
		return hub, dpsapi.SubstatusReprovisionedToInitialAssignment
	case !policy.UpdateHubAssignment:
		hub.HostName, hub.DeviceID = prev.HostName, prev.DeviceID
		return hub, dpsapi.SubstatusReprovisionedToInitialAssignment
	case policy.MigrateDeviceData:
		return hub, dpsapi.SubstatusDeviceDataMigrated
	}
	return hub, dpsapi.SubstatusDeviceDataReset
}

// credentials fills in the device's hub identity: the enrollment's symmetric keys or
// certificates' thumbprints, or for a TPM device a fresh hub key, which the result delivers
// sealed to its TPM. It starts op.Result.
func (s *API) credentials(e *dpsapi.IndividualEnrollment, op *store.Operation, hub *store.Assignment) error {
	a := e.Attestation
	hub.Attestation = a.Type
	hub.InitialTwin = e.InitialTwin
	hub.IoTEdge = e.Capabilities != nil && e.Capabilities.IoTEdge
	op.Result = &dpsapi.DeviceRegistrationResult{}
	switch a.Type {
	case dpsapi.AttestationSymmetricKey:
		for _, k := range []string{a.SymmetricKey.PrimaryKey, a.SymmetricKey.SecondaryKey} {
			if raw, err := base64.StdEncoding.DecodeString(k); err == nil && len(raw) > 0 {
				hub.Keys = append(hub.Keys, raw)
			}
		}
	case dpsapi.AttestationX509:
		for _, c := range enrollcert.List(a.X509.ClientCertificates) {
			hub.Thumbprints = append(hub.Thumbprints, enrollcert.EnrolledThumbprint(c))
		}
	case dpsapi.AttestationTPM:
		key, blob, err := sealHubKey(op)
		if err != nil {
			return fmt.Errorf("emulator: sealing the hub key of %q: %w", op.RegistrationID, err)
		}
		hub.Keys = [][]byte{key}
		op.Result.TPM = &dpsapi.TPMRegistrationResult{AuthenticationKey: blob}
	}
	return nil
}

// credentialEnrolled reports whether the enrollment still accepts what the device registered
// with.
func credentialEnrolled(e *dpsapi.IndividualEnrollment, op *store.Operation) bool {
	a := e.Attestation
	if a == nil || a.Type != op.Attestation {
		return false
	}
	switch a.Type {
	case dpsapi.AttestationTPM:
		ek, err := base64.StdEncoding.DecodeString(a.TPM.EndorsementKey)
		return err == nil && bytes.Equal(ek, op.EK)
	case dpsapi.AttestationSymmetricKey:
		return slices.ContainsFunc([]string{a.SymmetricKey.PrimaryKey, a.SymmetricKey.SecondaryKey}, func(k string) bool {
			raw, err := base64.StdEncoding.DecodeString(k)
			return err == nil && len(raw) > 0 && bytes.Equal(raw, op.AuthKey)
		})
	case dpsapi.AttestationX509:
		return slices.ContainsFunc(enrollcert.List(a.X509.ClientCertificates), func(c *dpsapi.X509CertificateWithInfo) bool {
			return enrollcert.EnrolledThumbprint(c) == op.Thumbprint
		})
	}
	return false
}

// writeResultState records the operation's result as the device's registration state and copies
// back the times and ETag the store gave it.
func writeResultState(tx *store.Tx, now time.Time, op *store.Operation) error {
	r := op.Result
	st, err := tx.PutRegistrationState(now, dpsapi.DeviceRegistrationState{
		RegistrationID: r.RegistrationID,
		AssignedHub:    r.AssignedHub,
		DeviceID:       r.DeviceID,
		Status:         dpsapi.RegistrationStatus(r.Status),
		Substatus:      dpsapi.Substatus(r.Substatus),
		ErrorCode:      r.ErrorCode,
		ErrorMessage:   r.ErrorMessage,
	})
	if err != nil {
		return err
	}
	r.CreatedDateTimeUTC = st.CreatedDateTimeUTC
	r.LastUpdatedDateTimeUTC = st.LastUpdatedDateTimeUTC
	r.ETag = st.ETag
	return nil
}

package provision

import (
	"encoding/json"

	"github.com/oobtpm/oob/pkg/dpsapi"
)

// Result is what DPS decided about the device.
type Result struct {
	// Status is RegistrationAssigned, RegistrationDisabled (the enrollment exists but is disabled) or
	// RegistrationFailed (see ErrorCode and ErrorMessage).
	Status         dpsapi.RegistrationStatus
	RegistrationID string
	// AssignedHub and DeviceID are where and as whom the device connects, once assigned.
	AssignedHub string
	DeviceID    string
	// Substatus says how an assigned device came to its hub (initialAssignment, …).
	Substatus    string
	ErrorCode    int
	ErrorMessage string
	// Payload is what a custom allocation webhook returned, kept as sent.
	Payload json.RawMessage
	// OperationID names the registration operation, for DPS support.
	OperationID string
	// HubKeyImported says a TPM device imported its IoT Hub key, delivered with the assignment.
	HubKeyImported bool
}

// Assigned reports whether the device may connect to its hub.
func (r *Result) Assigned() bool { return r.Status == dpsapi.RegistrationAssigned }

func resultOf(op *dpsapi.RegistrationOperationStatus, id string) *Result {
	r := &Result{Status: op.Status, RegistrationID: id, OperationID: op.OperationID}
	if s := op.RegistrationState; s != nil {
		if s.Status != "" {
			r.Status = s.Status
		}
		r.AssignedHub, r.DeviceID, r.Substatus = s.AssignedHub, s.DeviceID, s.Substatus
		r.ErrorCode, r.ErrorMessage, r.Payload = s.ErrorCode, s.ErrorMessage, s.Payload
	}
	return r
}

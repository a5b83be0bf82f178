package web

import (
	"fmt"

	"github.com/oobtpm/oob/internal/portal/activation"
)

// metadataFields are the activation's metadata fields by the names forms and CSV columns use.
var metadataFields = []string{activation.FieldLocation, activation.FieldChassis}

// newRequest is the activation of guid for hub with the metadata fields by name, normalised.
func newRequest(guid, hub, etag, customer string, fields map[string]string) activation.Request {
	req := activation.Request{GUID: guid, Hub: hub, ETag: etag, Customer: customer,
		Metadata: activation.Metadata{Location: fields[activation.FieldLocation], ChassisNumber: fields[activation.FieldChassis]}}
	req.Normalize()
	return req
}

// metadataOf is what the records keep of req's metadata, by field name.
func metadataOf(req activation.Request) map[string]string {
	return map[string]string{activation.FieldLocation: req.Metadata.Location, activation.FieldChassis: req.Metadata.ChassisNumber}
}

// auditDetail is the audit line's account of an activation.
func auditDetail(req activation.Request) string {
	return fmt.Sprintf("hub %s; location %q; chassis number %q", req.Hub, req.Metadata.Location, req.Metadata.ChassisNumber)
}

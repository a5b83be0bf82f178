// Package activation turns a customer's activation of a board into the change of its DPS
// enrollment: the metadata in its initial twin, its IoT hub, and provisioning enabled, written
// under If-Match so that someone else's change in between is reported, never overwritten.
package activation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// ErrChanged means the enrollment changed since the activation form was shown, or between this
// activation's read and write: nothing was written.
var ErrChanged = errors.New("activation: the enrollment was changed by someone else in the meantime; nothing was written")

// ErrNoEnrollment means DPS holds no enrollment for the board.
var ErrNoEnrollment = errors.New("activation: DPS holds no enrollment for this board")

// Metadata is what the customer records about a board. The fields are fixed for now; a schema
// each organisation defines for itself is to come.
type Metadata struct {
	Location      string
	ChassisNumber string
}

// Request is one activation.
type Request struct {
	GUID     string
	Hub      string
	Metadata Metadata
	// ETag is the enrollment's version when the form was shown; empty accepts the current one.
	ETag string
	// Customer is tagged on the twin.
	Customer string
}

// Field names, as the form names its inputs.
const (
	FieldLocation = "location"
	FieldChassis  = "chassis"
	FieldHub      = "hub"
)

// FieldErrors says what is wrong with each field, by field name.
type FieldErrors map[string]string

// Normalize trims the request's fields and lower-cases the hub's host name.
func (r *Request) Normalize() {
	r.Hub = strings.ToLower(strings.TrimSpace(r.Hub))
	r.Metadata.Location = strings.TrimSpace(r.Metadata.Location)
	r.Metadata.ChassisNumber = strings.TrimSpace(r.Metadata.ChassisNumber)
}

// Validate returns what is wrong with the request's fields, or nil.
func (r *Request) Validate() FieldErrors {
	fe := FieldErrors{}
	switch l := r.Metadata.Location; {
	case l == "":
		fe[FieldLocation] = "Enter where the board is installed."
	case utf8.RuneCountInString(l) > 120 || strings.IndexFunc(l, unicode.IsControl) >= 0:
		fe[FieldLocation] = "Use at most 120 characters, on one line."
	}
	switch c := r.Metadata.ChassisNumber; {
	case c == "":
		fe[FieldChassis] = "Enter the machine's chassis number."
	case len(c) > 64 || strings.IndexFunc(c, func(r rune) bool {
		return !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_./ ", r)))
	}) >= 0:
		fe[FieldChassis] = "Use at most 64 letters, digits, spaces and - _ . /"
	}
	if err := CheckHostName(r.Hub); err != nil {
		fe[FieldHub] = err.Error()
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// CheckHostName says why h is not a fully qualified DNS host name, or returns nil.
func CheckHostName(h string) error {
	if h == "" {
		return errors.New("Enter the IoT hub's host name, such as my-hub.azure-devices.net.")
	}
	if len(h) > 253 {
		return errors.New("A host name has at most 253 characters.")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return errors.New("Give the hub's full host name, such as my-hub.azure-devices.net.")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return errors.New("Not a host name: each part between dots has 1 to 63 letters, digits or inner hyphens.")
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return errors.New("Not a host name: use only letters, digits, hyphens and dots.")
			}
		}
	}
	return nil
}

// Enrollments is the part of the DPS service client an activation needs.
type Enrollments interface {
	GetEnrollment(ctx context.Context, id string) (*dpsapi.IndividualEnrollment, error)
	CreateOrUpdateEnrollment(ctx context.Context, e *dpsapi.IndividualEnrollment, ifMatch string) (*dpsapi.IndividualEnrollment, error)
}

// Read returns the board's enrollment, or ErrNoEnrollment.
func Read(ctx context.Context, c Enrollments, guid string) (*dpsapi.IndividualEnrollment, error) {
	e, err := c.GetEnrollment(ctx, guid)
	if dps.IsNotFound(err) {
		return nil, ErrNoEnrollment
	}
	return e, err
}

// Activate reads the board's enrollment and writes it back, under If-Match, with the request
// applied. The request must be valid.
func Activate(ctx context.Context, c Enrollments, r Request) (*dpsapi.IndividualEnrollment, error) {
	e, err := Read(ctx, c, r.GUID)
	if err != nil {
		return nil, err
	}
	if r.ETag != "" && e.ETag != r.ETag {
		return nil, ErrChanged
	}
	if err := Apply(e, r); err != nil {
		return nil, err
	}
	got, err := c.CreateOrUpdateEnrollment(ctx, e, e.ETag)
	if dps.IsPreconditionFailed(err) {
		return nil, ErrChanged
	}
	if err != nil {
		return nil, fmt.Errorf("activation: %w", err)
	}
	return got, nil
}

// Apply changes e as an activation does: the metadata added to the initial twin's tags and
// desired properties (what else they hold is kept), the hub as its only, static, allocation,
// provisioning enabled.
func Apply(e *dpsapi.IndividualEnrollment, r Request) error {
	if e.InitialTwin == nil {
		e.InitialTwin = &dpsapi.InitialTwin{}
	}
	meta := map[string]string{"location": r.Metadata.Location, "chassisNumber": r.Metadata.ChassisNumber}
	tags := map[string]string{"location": r.Metadata.Location, "chassisNumber": r.Metadata.ChassisNumber}
	if r.Customer != "" {
		tags["customer"] = r.Customer
	}
	var err error
	if e.InitialTwin.Tags, err = merge(e.InitialTwin.Tags, tags); err != nil {
		return fmt.Errorf("activation: the enrollment's tags: %w", err)
	}
	if e.InitialTwin.Properties == nil {
		e.InitialTwin.Properties = &dpsapi.InitialTwinProperties{}
	}
	if e.InitialTwin.Properties.Desired, err = merge(e.InitialTwin.Properties.Desired, meta); err != nil {
		return fmt.Errorf("activation: the enrollment's desired properties: %w", err)
	}
	e.IoTHubHostName = r.Hub
	e.IoTHubs = []string{r.Hub}
	e.AllocationPolicy = dpsapi.AllocationStatic
	e.ProvisioningStatus = dpsapi.StatusEnabled
	return nil
}

// merge sets the members of add in the JSON object raw, keeping its other members as they are.
func merge(raw json.RawMessage, add map[string]string) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
	}
	for k, v := range add {
		b, _ := json.Marshal(v)
		obj[k] = b
	}
	return json.Marshal(obj)
}

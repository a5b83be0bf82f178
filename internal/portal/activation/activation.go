// Package activation turns a customer's activation of a board into the change of its DPS
// enrollment: the metadata in its initial twin, its IoT hub, and provisioning enabled, written
// under If-Match so that someone else's change in between is reported, never overwritten. The
// metadata follows the organisation's form (Schema), the hub one the factory allows it; the web
// pages and the JSON API validate with the same functions.
package activation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
)

// ErrChanged means the enrollment changed since the activation form was shown, or between this
// activation's read and write: nothing was written.
var ErrChanged = errors.New("activation: the enrollment was changed by someone else in the meantime; nothing was written")

// ErrNoEnrollment means DPS holds no enrollment for the board.
var ErrNoEnrollment = errors.New("activation: DPS holds no enrollment for this board")

// Request is one activation.
type Request struct {
	GUID string
	Hub  string
	// Values are the metadata typed into the organisation's form, by field name.
	Values map[string]string
	// Schema is the organisation's form; nil is DefaultSchema.
	Schema *Schema
	// AllowedHubs are the host names the factory allows the organisation's boards to be sent
	// to; the hub must be one of them, and with none no activation is possible.
	AllowedHubs []string
	// ETag is the enrollment's version when the form was shown; empty accepts the current one.
	ETag string
	// Customer is tagged on the twin.
	Customer string
}

// FieldHub is the hub's field name, beside the form's own fields.
const FieldHub = "hub"

// FieldErrors says what is wrong with each field, by field name.
type FieldErrors map[string]string

// Normalize trims the request's values and lower-cases the hub's host name.
func (r *Request) Normalize() {
	r.Hub = strings.ToLower(strings.TrimSpace(r.Hub))
	for k, v := range r.Values {
		r.Values[k] = strings.TrimSpace(v)
	}
}

func (r *Request) schema() *Schema {
	if r.Schema == nil {
		return DefaultSchema()
	}
	return r.Schema
}

// Validate returns what is wrong with the request's fields, or nil: each value against the
// organisation's form, the hub against the hubs allowed to it.
func (r *Request) Validate() FieldErrors {
	fe := r.schema().ValidateValues(r.Values)
	if fe == nil {
		fe = FieldErrors{}
	}
	if _, ok := fe[FieldHub]; !ok {
		if msg := CheckHub(r.Hub, r.AllowedHubs); msg != "" {
			fe[FieldHub] = msg
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// ErrNoHubAllowed is the message for an organisation the factory has allowed no hub.
const ErrNoHubAllowed = "The factory has not allowed any IoT hub for your organisation yet, so no board can be activated. Ask the factory to allow your hub (oob-factory customer hub add)."

// CheckHub says why hub cannot be chosen from allowed, or returns "".
func CheckHub(hub string, allowed []string) string {
	if len(allowed) == 0 {
		return ErrNoHubAllowed
	}
	if hub == "" {
		return "Choose the IoT hub the board is to be assigned to."
	}
	for _, h := range allowed {
		if h == hub {
			return ""
		}
	}
	return "The factory has not allowed the hub " + strconv.Quote(hub) + " for your organisation; choose one of the hubs offered."
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
	return write(ctx, c, r.GUID, r.ETag, func(e *dpsapi.IndividualEnrollment) error { return Apply(e, r) })
}

// Apply changes e as an activation does: the metadata (each value under its field's name; an
// optional field left empty is not written) added to the initial twin's tags and
// desired properties (what else they hold is kept), the hub as its only, static, allocation,
// provisioning enabled.
func Apply(e *dpsapi.IndividualEnrollment, r Request) error {
	if e.InitialTwin == nil {
		e.InitialTwin = &dpsapi.InitialTwin{}
	}
	sc := r.schema()
	meta := map[string]json.RawMessage{}
	for i := range sc.Fields {
		f := &sc.Fields[i]
		if v := r.Values[f.Name]; v != "" {
			meta[f.Name] = f.twinValue(v)
		}
	}
	tags := map[string]json.RawMessage{}
	for k, v := range meta {
		tags[k] = v
	}
	if r.Customer != "" {
		tags["customer"], _ = json.Marshal(r.Customer)
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
func merge(raw json.RawMessage, add map[string]json.RawMessage) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
	}
	for k, v := range add {
		obj[k] = v
	}
	return json.Marshal(obj)
}

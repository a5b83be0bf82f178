package activation

import (
	"context"
	"fmt"

	"github.com/oobtpm/oob/internal/factory/records"
)

// Organisation returns what an organisation's activations are checked against: its metadata
// form (DefaultSchema until its admin saves one) and the hubs the factory allows it. The web
// form and the API both take it from here.
func Organisation(ctx context.Context, s *records.Store, customer string) (*Schema, []string, error) {
	def, err := s.FormDefinition(ctx, customer)
	if err != nil {
		return nil, nil, err
	}
	schema := DefaultSchema()
	if def != "" {
		if schema, err = ParseSchema([]byte(def)); err != nil {
			return nil, nil, fmt.Errorf("the stored form of %s: %w", customer, err)
		}
	}
	hubs, err := s.CustomerHubs(ctx, customer)
	if err != nil {
		return nil, nil, err
	}
	return schema, hubs, nil
}

// AuditDetail is the audit line's text for an activation: the hub, then each value given, in
// the form's order.
func AuditDetail(r Request) string {
	schema := r.Schema
	if schema == nil {
		schema = DefaultSchema()
	}
	detail := "hub " + r.Hub
	for _, f := range schema.Fields {
		if v := r.Values[f.Name]; v != "" {
			detail += fmt.Sprintf("; %s %q", f.Name, v)
		}
	}
	return detail
}

// Kept is what the records keep of the request's metadata: each value given for a field of the
// form, by field name.
func (r Request) Kept() map[string]string {
	m := map[string]string{}
	for k, v := range r.Values {
		if v != "" && (r.Schema == nil || r.Schema.Field(k) != nil) {
			m[k] = v
		}
	}
	return m
}

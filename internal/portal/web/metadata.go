package web

import (
	"context"

	"github.com/oobtpm/oob/internal/portal/activation"
)

// org is what an organisation's activations are checked against: its form and the hubs the
// factory allows it.
type org struct {
	schema *activation.Schema
	hubs   []string
}

func (s *Server) org(ctx context.Context, customer string) (org, error) {
	schema, hubs, err := activation.Organisation(ctx, s.cfg.Store, customer)
	return org{schema: schema, hubs: hubs}, err
}

// fieldNames are the form's field names, as CSV columns and the export name them.
func (o org) fieldNames() []string {
	var names []string
	for _, f := range o.schema.Fields {
		names = append(names, f.Name)
	}
	return names
}

// request is the activation of guid for hub with the form's values by field name, normalised.
func (o org) request(guid, hub, etag, customer string, values map[string]string) activation.Request {
	req := activation.Request{GUID: guid, Hub: hub, ETag: etag, Customer: customer, Values: values, Schema: o.schema, AllowedHubs: o.hubs}
	req.Normalize()
	return req
}

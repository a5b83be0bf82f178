package api

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentIsTheRouter checks the served document against the router's table, both
// ways, and that it is a valid OpenAPI 3.1 document whose examples validate against their
// schemas (kin-openapi's Validate checks examples).
func TestOpenAPIDocumentIsTheRouter(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document does not validate: %v", err)
	}
	// The example check is live: an example off its schema is refused.
	broken, err := openapi3.NewLoader().LoadFromData([]byte(strings.Replace(string(openAPI), `"state": "activated"`, `"state": "lost"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := broken.Validate(context.Background()); err == nil {
		t.Error("an example with a state the schema does not have validated")
	}
	var inDoc, inRouter []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc = append(inDoc, method+" "+path)
		}
	}
	for _, rt := range routes {
		inRouter = append(inRouter, rt.method+" "+rt.path)
		op := doc.Paths.Find(rt.path).GetOperation(rt.method)
		if op == nil {
			continue
		}
		// The document's security matches the route's: a token or none.
		open := op.Security != nil && len(*op.Security) == 0
		if open != (rt.role == "") {
			t.Errorf("%s %s: the document's security does not say whether it needs a token", rt.method, rt.path)
		}
	}
	slices.Sort(inDoc)
	slices.Sort(inRouter)
	if strings.Join(inDoc, "\n") != strings.Join(inRouter, "\n") {
		t.Errorf("operations in the document:\n%s\nroutes of the router:\n%s", strings.Join(inDoc, "\n"), strings.Join(inRouter, "\n"))
	}
}

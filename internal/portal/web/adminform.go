package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/oobtpm/oob/internal/portal/activation"
)

// formRow is one field of the form editor as typed: strings, so that what was typed is shown
// again with its error.
type formRow struct {
	Name, Label, Type, Pattern, MaxLength, Options string
	Required                                       bool
	Errors                                         map[string]string
}

type formEditorPage struct {
	Rows       []formRow
	Types      []string
	Saved      bool
	Unsaved    bool
	Default    bool
	MaxFields  int
	CanAddMore bool
}

func rowsOf(schema *activation.Schema) []formRow {
	rows := make([]formRow, len(schema.Fields))
	for i, f := range schema.Fields {
		rows[i] = formRow{Name: f.Name, Label: f.Label, Type: f.Type, Pattern: f.Pattern, MaxLength: strconv.Itoa(f.MaxLength),
			Options: strings.Join(f.Options, "\n"), Required: f.Required}
	}
	return rows
}

func (s *Server) renderFormEditor(w http.ResponseWriter, r *http.Request, a *auth, status int, p formEditorPage) {
	p.Types = []string{activation.TypeText, activation.TypeNumber, activation.TypeChoice}
	p.MaxFields = activation.MaxFields
	p.CanAddMore = len(p.Rows) < activation.MaxFields
	s.render(w, r, status, "admin-form", &view{Title: "Activation form of " + a.user.Customer, User: a.user, CSRF: a.ses.FormToken, P: p})
}

func (s *Server) formEditor(w http.ResponseWriter, r *http.Request, a *auth) {
	def, err := s.cfg.Store.FormDefinition(r.Context(), a.user.Customer)
	if err != nil {
		s.internal(w, r, a, err)
		return
	}
	schema := activation.DefaultSchema()
	if def != "" {
		if schema, err = activation.ParseSchema([]byte(def)); err != nil {
			s.internal(w, r, a, fmt.Errorf("the stored form of %s: %w", a.user.Customer, err))
			return
		}
	}
	s.renderFormEditor(w, r, a, http.StatusOK, formEditorPage{Rows: rowsOf(schema), Saved: r.URL.Query().Has("saved"), Default: def == ""})
}

// postedRows reads the editor's rows from the form: "rows" of them, each field suffixed _i.
func postedRows(r *http.Request) ([]formRow, error) {
	n, err := strconv.Atoi(r.PostFormValue("rows"))
	if err != nil || n < 0 || n > activation.MaxFields {
		return nil, errors.New("the form editor's row count is missing or out of range")
	}
	rows := make([]formRow, n)
	for i := range rows {
		v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k + "_" + strconv.Itoa(i))) }
		rows[i] = formRow{Name: v("name"), Label: v("label"), Type: v("type"), Pattern: v("pattern"), MaxLength: v("maxLength"),
			Options: v("options"), Required: v("required") == "on"}
	}
	return rows, nil
}

// schemaOf turns the rows into a form definition, checked; what is wrong is set on the rows.
func schemaOf(rows []formRow) (*activation.Schema, bool) {
	schema := &activation.Schema{Fields: make([]activation.Field, len(rows))}
	ok := true
	for i := range rows {
		row := &rows[i]
		row.Errors = nil
		f := activation.Field{Name: row.Name, Label: row.Label, Type: row.Type, Pattern: row.Pattern, Required: row.Required,
			MaxLength: activation.DefaultMaxLength}
		if row.MaxLength != "" {
			n, err := strconv.Atoi(row.MaxLength)
			if err != nil {
				row.Errors = map[string]string{"maxLength": "Give the maximum length as a whole number of characters."}
				ok = false
			}
			f.MaxLength = n
		}
		if f.Type == activation.TypeChoice {
			for _, o := range strings.Split(row.Options, "\n") {
				if o = strings.TrimSpace(o); o != "" {
					f.Options = append(f.Options, o)
				}
			}
		}
		schema.Fields[i] = f
	}
	if !ok {
		return nil, false
	}
	var se *activation.SchemaError
	if err := schema.Check(); errors.As(err, &se) {
		if se.Index >= 0 {
			rows[se.Index].Errors = map[string]string{se.Key: sentence(se.Msg)}
		}
		return nil, false
	} else if err != nil {
		return nil, false
	}
	return schema, true
}

func sentence(s string) string { return strings.ToUpper(s[:1]) + s[1:] + "." }

// formEdit applies one of the editor's buttons: add a row, remove or move row i (not saved
// yet), or save the form.
func (s *Server) formEdit(w http.ResponseWriter, r *http.Request, a *auth) {
	rows, err := postedRows(r)
	if err != nil {
		s.message(w, r, a, http.StatusBadRequest, "Form not understood", "The form editor's page was not sent whole: "+err.Error()+". Open it again.")
		return
	}
	op, arg, _ := strings.Cut(r.PostFormValue("op"), "-")
	i, _ := strconv.Atoi(arg)
	inRange := arg != "" && i >= 0 && i < len(rows)
	switch {
	case op == "add" && len(rows) < activation.MaxFields:
		rows = append(rows, formRow{Type: activation.TypeText, MaxLength: strconv.Itoa(activation.DefaultMaxLength)})
	case op == "remove" && inRange:
		rows = append(rows[:i], rows[i+1:]...)
	case op == "up" && inRange && i > 0:
		rows[i-1], rows[i] = rows[i], rows[i-1]
	case op == "down" && inRange && i < len(rows)-1:
		rows[i], rows[i+1] = rows[i+1], rows[i]
	case op == "save":
		schema, ok := schemaOf(rows)
		if !ok {
			s.renderFormEditor(w, r, a, http.StatusUnprocessableEntity, formEditorPage{Rows: rows, Unsaved: true})
			return
		}
		b, err := activation.MarshalSchema(schema)
		if err != nil {
			s.internal(w, r, a, err)
			return
		}
		if err := s.cfg.Store.SetFormDefinition(r.Context(), a.user.Customer, string(b), a.user.Email, describe(schema), address(r)); err != nil {
			s.internal(w, r, a, err)
			return
		}
		http.Redirect(w, r, "/admin/form?saved", http.StatusSeeOther)
		return
	default:
		s.message(w, r, a, http.StatusBadRequest, "Form not understood", "That button is not one of the form editor's. Open the editor again.")
		return
	}
	s.renderFormEditor(w, r, a, http.StatusOK, formEditorPage{Rows: rows, Unsaved: true})
}

// describe is a form's definition in a line of the audit trail.
func describe(schema *activation.Schema) string {
	if len(schema.Fields) == 0 {
		return "no fields"
	}
	parts := make([]string, len(schema.Fields))
	for i, f := range schema.Fields {
		p := f.Name + " (" + f.Type
		if f.Required {
			p += ", required"
		}
		if f.Pattern != "" {
			p += ", pattern " + strconv.Quote(f.Pattern)
		}
		if len(f.Options) > 0 {
			p += ", options " + strings.Join(f.Options, "|")
		}
		parts[i] = p + fmt.Sprintf(", at most %d)", f.MaxLength)
	}
	return "fields: " + strings.Join(parts, "; ")
}

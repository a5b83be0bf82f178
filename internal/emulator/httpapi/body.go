package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/internal/emulator/quote"
)

// Default request body limits. The service accepts individual enrollments of a few kilobytes
// (certificates included) and bulk operations of at most ten of them.
const (
	DefaultMaxBodyBytes     = 64 << 10
	DefaultMaxBulkBodyBytes = 1 << 20
)

// ReadBody reads a JSON request body of at most limit bytes.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, Errorf(CodeUnsupportedMediaType, "Content-Type %q is not supported: send application/json.", quote.Short(ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, Errorf(CodeBodyTooLarge, "The request body is larger than %d bytes.", limit)
		}
		return nil, Errorf(CodeMalformedBody, "The request body could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, Errorf(CodeMalformedBody, "The request body is empty.")
	}
	return body, nil
}

// WriteJSON sends v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// IsNull reports whether raw is JSON null.
func IsNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// JSONProblem describes a decoding error without echoing large inputs back.
func JSONProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return "field " + typeErr.Field + " has the wrong type (" + typeErr.Value + ")"
	}
	return quote.Short(err.Error())
}

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatekeeper-dev/gatekeeper/engine"
)

// RequestError is a request the server could not decide: the HTTP status, the request field
// at fault (a JSON path such as "step" or "facts.error_rate.samples", or a Flagger
// "metadata.step") and why. It is the JSON body of every error answer.
type RequestError struct {
	Status int          `json:"-"`
	Field  string       `json:"field,omitempty"`
	Msg    string       `json:"error"`
	Issues []FieldIssue `json:"issues,omitempty"`
}

// FieldIssue is one schema problem of a request body.
type FieldIssue struct {
	Field   string `json:"field,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

// Error names the field at fault, if any, before the reason.
func (e *RequestError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func badField(field, format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusUnprocessableEntity, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// fromValidation turns a facts schema error into a 422 naming every field at fault.
func fromValidation(ve *engine.ValidationError) *RequestError {
	e := &RequestError{Status: http.StatusUnprocessableEntity, Msg: "request body does not match the facts schema"}
	for _, is := range ve.Issues {
		e.Issues = append(e.Issues, FieldIssue{Field: is.Path, Line: is.Line, Col: is.Col, Message: is.Msg})
	}
	if len(e.Issues) > 0 {
		e.Field = e.Issues[0].Field
		e.Msg = e.Issues[0].Message
		if e.Field == "" && e.Issues[0].Line > 0 {
			e.Msg = fmt.Sprintf("line %d col %d: %s", e.Issues[0].Line, e.Issues[0].Col, e.Msg)
		}
	}
	return e
}

// fromDecodeError explains a body encoding/json refused, naming the field where it can.
func fromDecodeError(err error) *RequestError {
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
	case errors.As(err, &ute):
		field := ute.Field
		return &RequestError{Status: http.StatusUnprocessableEntity, Field: field, Msg: fmt.Sprintf("want %s, got a JSON %s", jsonKind(ute.Type.Kind().String()), ute.Value)}
	case errors.As(err, &se):
		return &RequestError{Status: http.StatusBadRequest, Msg: fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &RequestError{Status: http.StatusUnprocessableEntity, Field: f, Msg: "unknown field"}
	}
	return &RequestError{Status: http.StatusBadRequest, Msg: "malformed JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	}
	return goKind
}

// writeJSON writes v as indented JSON with sorted keys (encoding/json sorts map keys).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error": "encode response"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func writeError(w http.ResponseWriter, e *RequestError) {
	writeJSON(w, e.Status, e)
}

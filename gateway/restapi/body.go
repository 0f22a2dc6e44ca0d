package restapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/roomgate/roomgate/gateway/httperror"
)

// Request bodies: JSON objects of at most 64 KiB whose property names are
// exactly the ones a call takes.

// readJSON decodes a body of at most 64 KiB into v, a pointer to a struct.
// Property names must be exactly v's (encoding/json would take
// "ROOMNAME" for "roomName"); unknown properties and trailing data are
// refused. An empty body is an empty object: every property left out.
func readJSON(w http.ResponseWriter, r *http.Request, v any) *httperror.Refusal {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return httperror.Refuse(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than 64 KiB")
		}
		return httperror.Refuse(http.StatusBadRequest, "bad_body", "the body could not be read")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var top json.RawMessage
	if err := dec.Decode(&top); err != nil || len(top) == 0 || top[0] != '{' {
		return httperror.Refuse(http.StatusBadRequest, "bad_body", "the body is not the JSON this call takes: not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return httperror.Refuse(http.StatusBadRequest, "bad_body", "the body has data after the JSON object")
	}
	if name := unknownProperty(top, reflect.TypeOf(v).Elem()); name != "" {
		return httperror.Refuse(http.StatusBadRequest, "bad_body", "the body is not the JSON this call takes: unknown property "+strconv.Quote(name))
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return httperror.Refuse(http.StatusBadRequest, "bad_body", "the body is not the JSON this call takes: "+jsonProblem(err))
	}
	return nil
}

// unknownProperty returns the first property name in raw, at any depth
// where t is a struct, that is not exactly one of t's; "" when all are.
func unknownProperty(raw json.RawMessage, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "" // not an object: the decoder says what is wrong
	}
	known := jsonFields(t)
	keys := slices.Sorted(maps.Keys(fields)) // the same answer every time
	for _, k := range keys {
		ft, ok := known[k]
		if !ok {
			return k
		}
		if name := unknownProperty(fields[k], ft); name != "" {
			return k + "." + name
		}
	}
	return ""
}

// jsonFields are the property names a struct type takes, from its tags,
// with each one's type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := jsonFieldsCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	jsonFieldsCache.Store(t, m)
	return m
}

var jsonFieldsCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonProblem says what is wrong without repeating the input.
func jsonProblem(err error) string {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &typ):
		return "wrong type for " + typ.Field
	case errors.As(err, &syn):
		return "not JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown property " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "not a JSON object"
}

// maxBodyBytes bounds an API call's body.
const maxBodyBytes = 64 << 10

package accesstoken

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// golang-jwt decodes claims with encoding/json, which matches member names
// to fields in any case (Unicode folding too: "ſub" fills sub), and keeps
// the last of two equal names. A verifier must read a token exactly as it
// was specified, so before that decoding each token is walked once: a name
// that appears twice in an object (in any spelling), or that is another
// spelling of a name the claims define, refuses the token.

// jwsHeader is the header as far as names go: the members golang-jwt and
// strictShape read.
type jwsHeader struct {
	Alg  string   `json:"alg"`
	Typ  string   `json:"typ"`
	Kid  string   `json:"kid"`
	Crit []string `json:"crit"`
}

var headerType = reflect.TypeFor[jwsHeader]()

// checkNames walks one JSON value, the decoded segment of a token, against
// the Go type it will be decoded into (nil: any).
func checkNames(seg []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(seg))
	if err := walkNames(dec, t, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return ErrMalformed // more than one value
	}
	return nil
}

// maxDepth bounds the nesting walked; no token of roomgate's nests deeper
// than three.
const maxDepth = 16

func walkNames(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxDepth {
		return ErrMalformed
	}
	tok, err := dec.Token()
	if err != nil {
		return ErrMalformed
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: its name, if any, was checked by the caller
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkNames(dec, elem, depth+1); err != nil {
				return err
			}
		}
	case '{':
		var fields map[string]reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			fields = jsonFields(t)
		}
		var seen []string
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return ErrMalformed
			}
			name, _ := tok.(string)
			for _, s := range seen {
				if strings.EqualFold(s, name) {
					return fmt.Errorf("%w: the name %q appears twice", ErrInvalid, name)
				}
			}
			seen = append(seen, name)
			ft, exact := fields[name]
			if !exact {
				for f := range fields {
					if strings.EqualFold(f, name) {
						return fmt.Errorf("%w: %q is not a claim name (%q is)", ErrInvalid, name, f)
					}
				}
			}
			if err := walkNames(dec, ft, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return ErrMalformed
	}
	return nil
}

// fieldNames caches jsonFields per type: the claims types are few and fixed.
var fieldNames sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields, embedded structs'
// included, to the fields' types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldNames.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := m[k]; !ok {
						m[k] = v
					}
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldNames.Store(t, m)
	return m
}

// IsRoomgateToken reports whether s has the form of a token roomgate
// mints (a JWS whose audience is one of roomgate's), signed or not, fresh
// or not: what a gateway takes out of requests it hands on.
func IsRoomgateToken(s string) bool {
	if len(s) > MaxTokenLen {
		return false
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var p struct {
		Aud any `json:"aud"`
	}
	if json.Unmarshal(b, &p) != nil {
		return false
	}
	switch a := p.Aud.(type) {
	case string:
		return strings.HasPrefix(a, "roomgate:")
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "roomgate:") {
				return true
			}
		}
	}
	return false
}

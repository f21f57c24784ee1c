package runner

import (
	"encoding"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"

	"github.com/scnlabs/scn/actions"
)

// Outputs become plain maps and lists for expressions and the journal.
// exprType and ToGeneric follow the same rules, so what the checker
// promises (steps.offer.offers[0].price is a float) is what runs:
//
//	struct          → map by json field name (all fields, even omitempty)
//	ints            → int          floats → float64
//	time.Time       → RFC 3339 string
//	TextMarshaler   → string (durations: "30s")
//	slices, maps    → []any, map[string]any

var (
	timeType          = reflect.TypeFor[time.Time]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	durationType      = reflect.TypeFor[actions.Duration]()
)

// exprType is the expression-checker type of values of Go type t.
func exprType(t reflect.Type) types.Type {
	t = derefType(t)
	if t == timeType || t == durationType || t.Implements(textMarshalerType) {
		return types.String
	}
	switch t.Kind() {
	case reflect.String:
		return types.String
	case reflect.Bool:
		return types.Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return types.Int
	case reflect.Float32, reflect.Float64:
		return types.Float64
	case reflect.Slice, reflect.Array:
		return types.Array(exprType(t.Elem()))
	case reflect.Map:
		return types.Map{types.Extra: exprType(t.Elem())}
	case reflect.Struct:
		return structType(t, nil)
	}
	return types.Any
}

// structType is the strict map type of a struct; extra adds fields.
func structType(t reflect.Type, extra types.Map) types.Map {
	m := types.Map{}
	for _, f := range actions.FieldsOf(t) {
		m[f.Name] = exprType(f.Type)
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// ToGeneric converts an output value to maps, lists and scalars.
func ToGeneric(v any) any {
	if v == nil {
		return nil
	}
	return generic(reflect.ValueOf(v))
}

func generic(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	t := v.Type()
	switch {
	case t == timeType:
		tm := v.Interface().(time.Time)
		if tm.IsZero() {
			return ""
		}
		return tm.UTC().Format(time.RFC3339Nano)
	case t == durationType:
		return v.Interface().(actions.Duration).String()
	case t.Implements(textMarshalerType) && t.Kind() != reflect.Struct:
		b, _ := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b)
	}
	switch v.Kind() {
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = generic(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out[keyString(iter.Key())] = generic(iter.Value())
		}
		return out
	case reflect.Struct:
		out := map[string]any{}
		for _, f := range actions.FieldsOf(t) {
			out[f.Name] = generic(v.FieldByIndex(f.Index))
		}
		return out
	}
	return v.Interface()
}

func keyString(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	return strings.TrimSpace(formatValue(generic(k)))
}

// typeName describes an expr type for messages.
func typeName(t reflect.Type) string {
	if t == nil {
		return "any"
	}
	switch t.Kind() {
	case reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Interface:
		return "any"
	}
	return t.String()
}

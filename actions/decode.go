package actions

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParamDecoder is implemented (on the pointer) by parameter types that
// accept more than one shape, e.g. InstanceRef takes an id or a whole
// instance object, Duration takes "30s" or a number of seconds.
type ParamDecoder interface {
	DecodeParam(v any) error
}

// DecodeError locates a bad value by its parameter path (count, offer.price,
// files[2].md5) so the runner can point at the right line of the scenario.
type DecodeError struct {
	Path string
	Msg  string
	Hint string // the fix, when the value's type knows it (WithHint)
}

// WithHint returns err with the fix the checker shows under its message
// ("hint: ..."); the error still reads as err. A ParamDecoder returns one
// to say how to write the value right.
func WithHint(err error, hint string) error { return &hinted{err, hint} }

type hinted struct {
	error
	hint string
}

func (h *hinted) Unwrap() error { return h.error }

// HintOf is the hint err carries (WithHint), "" when none.
func HintOf(err error) string {
	var h *hinted
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Decode fills the struct pointed to by dst from generic values (what YAML
// literals and expressions produce: string, int, float64, bool, nil,
// []any, map[string]any). Defaults are applied first; missing required
// fields and unknown keys are errors. Object values that came from
// expressions may carry extra keys (a whole instance passed as `on`), so
// unknown keys inside nested objects are ignored unless strict is set.
func Decode(dst any, with map[string]any, strict bool) error {
	return decode(dst, with, strict, true)
}

// DecodeKnown is Decode for what is known of a step before it runs (its
// literal parameters, for `scn plan`): a required parameter that is not
// known yet is not an error.
func DecodeKnown(dst any, with map[string]any) error {
	return decode(dst, with, false, false)
}

func decode(dst any, with map[string]any, strict, complete bool) error {
	rv := reflect.ValueOf(dst).Elem()
	fields := FieldsOf(rv.Type())
	seen := map[string]bool{}
	for _, k := range sortedKeys(with) {
		f, ok := Lookup(fields, k)
		if !ok {
			return &DecodeError{Path: k, Msg: "unknown parameter" + Hint(k, Names(fields))}
		}
		if seen[f.Name] {
			return &DecodeError{Path: k, Msg: fmt.Sprintf("given twice (as %q and an alias)", f.Name)}
		}
		seen[f.Name] = true
		if err := Coerce(with[k], rv.FieldByIndex(f.Index), f.Name, strict); err != nil {
			return err
		}
		if err := checkEnum(f, rv.FieldByIndex(f.Index)); err != nil {
			return err
		}
		if err := CheckRange(f, rv.FieldByIndex(f.Index)); err != nil {
			return err
		}
	}
	if complete {
		if err := CheckGroups(GroupsOf(dst), func(name string) bool { return seen[name] }); err != nil {
			return &DecodeError{Msg: err.Error()}
		}
	}
	for _, f := range fields {
		if seen[f.Name] {
			continue
		}
		if f.Required && complete {
			return &DecodeError{Path: f.Name, Msg: "required parameter is missing"}
		}
		if f.Default != "" {
			if err := Coerce(ParseScalar(f.Default), rv.FieldByIndex(f.Index), f.Name, true); err != nil {
				panic(fmt.Sprintf("bad default tag on %s.%s: %v", rv.Type(), f.Name, err))
			}
		}
	}
	return nil
}

func checkEnum(f Field, v reflect.Value) error {
	if len(f.Enum) == 0 || v.Kind() != reflect.String {
		return nil
	}
	if s := v.String(); s != "" && !slices.Contains(f.Enum, s) {
		return &DecodeError{Path: f.Name, Msg: fmt.Sprintf("%q is not one of %s", s, strings.Join(f.Enum, ", "))}
	}
	return nil
}

// ParseScalar turns a command-line or tag string into a typed scalar with
// YAML's rules: 5 → int, 0.5 → float64, true → bool, anything else string.
func ParseScalar(s string) any {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	switch v.(type) {
	case int, float64, bool, string, nil, []any, map[string]any:
		return v
	}
	return s
}

// Coerce stores generic value v into dst, converting where the meaning is
// unambiguous (3.0 → int 3, "5" → 5, 42 → "42").
func Coerce(v any, dst reflect.Value, path string, strict bool) error {
	if dst.CanAddr() {
		if pd, ok := dst.Addr().Interface().(ParamDecoder); ok {
			if err := pd.DecodeParam(v); err != nil {
				return &DecodeError{Path: path, Msg: err.Error(), Hint: HintOf(err)}
			}
			return nil
		}
	}
	fail := func(want string) error {
		return &DecodeError{Path: path, Msg: fmt.Sprintf("expected %s, got %s", want, Describe(v))}
	}
	t := dst.Type()
	switch t.Kind() {
	case reflect.Interface:
		if v != nil {
			dst.Set(reflect.ValueOf(v))
		}
		return nil
	case reflect.Pointer:
		if v == nil {
			return nil
		}
		p := reflect.New(t.Elem())
		if err := Coerce(v, p.Elem(), path, strict); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.String:
		switch x := v.(type) {
		case string:
			dst.SetString(x)
		case int, int64, float64, bool:
			dst.SetString(fmt.Sprint(x))
		default:
			return fail("a string")
		}
	case reflect.Bool:
		switch x := v.(type) {
		case bool:
			dst.SetBool(x)
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return fail("true or false")
			}
			dst.SetBool(b)
		default:
			return fail("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := toInt(v)
		if !ok {
			return fail("an integer")
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := toInt(v)
		if !ok || n < 0 {
			return fail("a non-negative integer")
		}
		dst.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, ok := toFloat(v)
		if !ok {
			return fail("a number")
		}
		dst.SetFloat(f)
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			return fail("a list")
		}
		s := reflect.MakeSlice(t, len(list), len(list))
		for i, e := range list {
			if err := Coerce(e, s.Index(i), fmt.Sprintf("%s[%d]", path, i), strict); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			if v == nil {
				return nil
			}
			return fail("a mapping")
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for _, k := range sortedKeys(m) {
			e := reflect.New(t.Elem()).Elem()
			if err := Coerce(m[k], e, path+"."+k, strict); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		dst.Set(out)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fail("a mapping")
		}
		fields := FieldsOf(t)
		for _, k := range sortedKeys(m) {
			f, ok := Lookup(fields, k)
			if !ok {
				if strict {
					return &DecodeError{Path: path + "." + k, Msg: "unknown key" + Hint(k, Names(fields))}
				}
				continue
			}
			if err := Coerce(m[k], dst.FieldByIndex(f.Index), path+"."+f.Name, strict); err != nil {
				return err
			}
		}
	default:
		return fail(t.String())
	}
	return nil
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		return int64(x), x <= math.MaxInt64
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// TextParam reads the value of a parameter whose type is text with a rule
// of its own (a ParamDecoder: a path, a name): a number is taken as its
// digits, as YAML reads name: 2024 as one. want is what the error says
// was expected.
func TextParam(v any, want string) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int, int64, float64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("expected %s, got %s", want, Describe(v))
}

// Describe names a generic value's kind for error messages.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("string %q", x)
	case int, int64, uint64:
		return fmt.Sprintf("integer %v", x)
	case float64:
		return fmt.Sprintf("number %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

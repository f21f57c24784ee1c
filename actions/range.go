package actions

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Range is what a parameter's min and max tags allow:
//
//	Count   int      `json:"count" min:"1"`          // at least 1
//	Size    int64    `json:"size" min:"0"`           // no negative size
//	Timeout Duration `json:"timeout" min:">0"`       // more than 0 (durations in seconds)
//	Ratio   float64  `json:"ratio" min:"0" max:"1"`  // 0..1
//
// One tag feeds the checker (a literal out of range is refused before
// anything runs), the decoder (a computed one is refused when the step
// starts), the JSON Schema (minimum, exclusiveMinimum, maximum) and the
// docs, so they cannot disagree.
type Range struct {
	Min, Max           *float64
	ExclusiveMin       bool
	MinText, MaxText   string // as written in the tag, for messages
	durations, integer bool
}

// RangeOf reads f's min and max tags; ok is false when it has none.
func RangeOf(f Field) (r Range, ok bool) {
	if f.Min == "" && f.Max == "" {
		return r, false
	}
	t := f.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.durations = t == reflect.TypeFor[Duration]()
	r.integer = t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
	parse := func(s string) *float64 {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			panic(fmt.Sprintf("bad min/max tag %q on parameter %s: %v", s, f.Name, err))
		}
		return &n
	}
	if f.Min != "" {
		r.ExclusiveMin = strings.HasPrefix(f.Min, ">")
		r.MinText = strings.TrimPrefix(f.Min, ">")
		r.Min = parse(r.MinText)
	}
	if f.Max != "" {
		r.MaxText, r.Max = f.Max, parse(f.Max)
	}
	return r, true
}

// Durations tells a range of a duration parameter (bounds in seconds).
func (r Range) Durations() bool { return r.durations }

// Describe says what the range allows, for docs and hints: "at least 1",
// "more than 0s", "0 to 1".
func (r Range) Describe() string {
	unit := func(s string) string {
		if r.durations {
			return s + "s"
		}
		return s
	}
	switch {
	case r.Min != nil && r.Max != nil && !r.ExclusiveMin:
		return unit(r.MinText) + " to " + unit(r.MaxText)
	case r.Min != nil && r.Max != nil:
		return "more than " + unit(r.MinText) + ", at most " + unit(r.MaxText)
	case r.Min != nil && r.ExclusiveMin:
		return "more than " + unit(r.MinText)
	case r.Min != nil:
		return "at least " + unit(r.MinText)
	}
	return "at most " + unit(r.MaxText)
}

// CheckRange reports a decoded parameter value v outside f's range as a
// DecodeError naming the parameter.
func CheckRange(f Field, v reflect.Value) error {
	r, ok := RangeOf(f)
	if !ok {
		return nil
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	var n float64
	var shown string
	switch {
	case r.durations:
		d := v.Interface().(Duration).Duration
		n, shown = d.Seconds(), d.String()
	case v.CanInt():
		n, shown = float64(v.Int()), strconv.FormatInt(v.Int(), 10)
	case v.CanUint():
		n, shown = float64(v.Uint()), strconv.FormatUint(v.Uint(), 10)
	case v.CanFloat():
		n, shown = v.Float(), strconv.FormatFloat(v.Float(), 'g', -1, 64)
	default:
		return nil
	}
	below := r.Min != nil && (n < *r.Min || r.ExclusiveMin && n == *r.Min)
	above := r.Max != nil && n > *r.Max
	if below || above {
		return &DecodeError{Path: f.Name, Msg: fmt.Sprintf("%s is out of range: it must be %s", shown, r.Describe())}
	}
	return nil
}

package actions

import (
	"reflect"
	"strings"
	"sync"
)

// Field describes one parameter or output of an action, read from the
// struct tags of its typed Params/Outputs struct:
//
//	Count    int         `json:"count" default:"3" doc:"how many files"`
//	On       InstanceRef `json:"on" alias:"instance" required:"true" doc:"..."`
//	Order    string      `json:"order" enum:"price,reliability" default:"price"`
//	Race     int         `json:"race" min:"1" default:"1"` (see Range)
//
// The json name is what scenarios write in `with:` and read in
// ${{ steps.x.<name> }}; the same tags feed `scn actions`, the JSON Schema
// and the static checker, so documentation cannot drift from behaviour.
type Field struct {
	Name     string
	Aliases  []string
	Doc      string
	Required bool
	Default  string // raw default, decoded like a scenario value
	Enum     []string
	Min, Max string // range tags, see Range
	Type     reflect.Type
	Index    []int
}

var fieldCache sync.Map // reflect.Type -> []Field

// FieldsOf lists the fields of struct type t (pointers are followed),
// including those of embedded structs, in declaration order.
func FieldsOf(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.([]Field)
	}
	var out []Field
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		f := Field{
			Name:     name,
			Doc:      sf.Tag.Get("doc"),
			Required: sf.Tag.Get("required") == "true",
			Default:  sf.Tag.Get("default"),
			Min:      sf.Tag.Get("min"),
			Max:      sf.Tag.Get("max"),
			Type:     sf.Type,
			Index:    sf.Index,
		}
		if a := sf.Tag.Get("alias"); a != "" {
			f.Aliases = strings.Split(a, ",")
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, ",")
		}
		out = append(out, f)
	}
	fieldCache.Store(t, out)
	return out
}

// Lookup finds a field by name or alias.
func Lookup(fields []Field, name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
		for _, a := range f.Aliases {
			if a == name {
				return f, true
			}
		}
	}
	return Field{}, false
}

// Names lists the fields' names, for hints.
func Names(fields []Field) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out
}

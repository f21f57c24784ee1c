package actions

import (
	"reflect"
)

// SchemaProvider is implemented by parameter types with their own JSON
// Schema (Duration, InstanceRef); the schema generator asks them.
type SchemaProvider interface {
	ParamSchema() map[string]any
}

// TypeNamer is implemented by parameter types that name themselves in
// the documentation ("snapshot" rather than "object").
type TypeNamer interface {
	ParamTypeName() string
}

var typeNamer = reflect.TypeFor[TypeNamer]()

// Referrer is implemented by parameter types that name a resource an
// action creates (Info.Creates): the kinds they accept. The checker
// refuses ${{ steps.<id> }} of a step creating another kind (a snapshot
// given where an instance is expected) before anything runs.
type Referrer interface {
	RefersTo() []string
}

// Resource is implemented by output types whose id names a resource of a
// kind ("instance", "standby", "snapshot", "offer"): the outputs of
// instance.status, an element of gpu.offers' offers. With Info.Creates it
// tells the checker what ${{ steps.<id> }}, or a part of it such as
// ${{ steps.offer.offers[0] }}, names, so an offer given where an instance
// is expected is refused before anything runs.
type Resource interface {
	ResourceKind() string
}

// Unique is implemented by parameter types naming something a step makes
// that must not exist yet (a snapshot's name): the namespace. The checker
// refuses a literal value given twice in one namespace in a scenario — the
// second step would fail with "already exists" — unless a step between
// them releases the namespace (Releaser).
type Unique interface {
	UniqueIn() string
}

// Releaser is implemented by params structs of actions that delete what
// a Unique parameter named (snapshot.delete): the namespace they free.
type Releaser interface {
	Releases() string
}

// RunScoped is implemented by parameter types naming something that only a
// step of the same run makes (a standby association: standby.create): the
// kind that step creates. The checker refuses such a parameter, whatever
// its value, when no step before it creates that kind.
type RunScoped interface {
	MadeInRun() string
}

// typeName names a parameter or output type for documentation.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(typeNamer) {
		return reflect.Zero(t).Interface().(TypeNamer).ParamTypeName()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list of " + typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Struct:
		if t.Name() == "Time" {
			return "time"
		}
		return "object"
	case reflect.Interface:
		return "any"
	}
	return t.String()
}

// ParamTypeName implements TypeNamer.
func (Duration) ParamTypeName() string { return "duration" }

// ParamTypeName implements TypeNamer.
func (InstanceRef) ParamTypeName() string { return "instance" }

// RefersTo implements Referrer: a standby is a machine too.
func (InstanceRef) RefersTo() []string { return []string{"instance", "standby"} }

// ParamTypeName implements TypeNamer.
func (StandbyRef) ParamTypeName() string { return "standby" }

// RefersTo implements Referrer: the standby, or the GPU it follows.
func (StandbyRef) RefersTo() []string { return []string{"standby", "instance"} }

// MadeInRun implements RunScoped: associations live only as long as the
// run whose standby.create made them.
func (StandbyRef) MadeInRun() string { return "standby" }

// ParamSchema implements SchemaProvider.
func (Duration) ParamSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "string", "pattern": `^\s*([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+\s*$`},
		map[string]any{"type": "number", "minimum": 0},
	}}
}

// ParamSchema implements SchemaProvider.
func (InstanceRef) ParamSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "string", "minLength": 1},
		map[string]any{"type": "integer"},
		map[string]any{"type": "object", "required": []any{"id"}},
	}}
}

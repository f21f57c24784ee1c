// Package schema generates the JSON Schema of scenario files from the
// action registry. The generated file is checked in as
// schema/scenario.schema.json (editors use it through the
// `# yaml-language-server: $schema=` comment) and a test fails when it
// drifts from the registry: regenerate with `make schema`.
package schema

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/scnlabs/scn/actions"
)

// ID is the schema's $id.
const ID = "https://github.com/scnlabs/scn/schema/scenario.schema.json"

// expression matches a value that is exactly one ${{ }} expression: any
// parameter may be computed.
var expression = map[string]any{"type": "string", "pattern": `^\s*\$\{\{[\s\S]*\}\}\s*$`}

// Generate returns the schema as indented JSON with a final newline.
func Generate(reg *actions.Registry) []byte {
	defs := map[string]any{
		"expression": expression,
		"duration":   map[string]any{"anyOf": []any{actions.Duration{}.ParamSchema(), ref("expression")}},
		"condition":  map[string]any{"type": "string", "minLength": 1, "description": "an expression that is true or false (${{ }} optional)"},
		"step":       stepSchema(reg),
	}
	for _, s := range reg.All() {
		defs["with."+s.Name] = paramsSchema(s)
	}
	steps := map[string]any{"type": "array", "items": ref("step")}
	doc := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  ID,
		"title":                "scn scenario",
		"description":          "A GPU failover drill run by scn (see docs/language.md).",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"name", "steps"},
		"properties": map[string]any{
			"name":        map[string]any{"type": "string", "minLength": 1},
			"description": map[string]any{"type": "string"},
			"vars": map[string]any{"type": "object", "description": "name: value, or name: {default, secret, required, description}",
				"propertyNames": map[string]any{"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
				// A mapping is always the long form (docs/decisions.md): an
				// object-valued var is written {default: {...}}.
				"additionalProperties": map[string]any{"anyOf": []any{
					map[string]any{"type": []any{"string", "number", "boolean", "array", "null"}},
					map[string]any{"type": "object", "additionalProperties": false, "minProperties": 1, "properties": map[string]any{
						"default": map[string]any{}, "secret": map[string]any{"type": "boolean"},
						"required": map[string]any{"type": "boolean"}, "description": map[string]any{"type": "string"}}},
				}}},
			"timeout": ref("duration"),
			"budget": map[string]any{"type": "object", "additionalProperties": false,
				"properties": map[string]any{"max_usd": map[string]any{"type": "number", "exclusiveMinimum": 0}}},
			"steps":   steps,
			"finally": steps,
			"report": map[string]any{"type": "object", "additionalProperties": false, "properties": map[string]any{
				"phases": map[string]any{"type": "object", "additionalProperties": map[string]any{
					"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}},
				"validation": map[string]any{"type": "string"},
				"metrics":    map[string]any{"type": "object"},
			}},
			"objectives": map[string]any{"type": "object", "description": "recovery objectives: name: condition on phases, metrics, cost_usd, validation, steps",
				"propertyNames": map[string]any{"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, "additionalProperties": ref("condition")},
		},
		"$defs": defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/$defs/" + name} }

func stepSchema(reg *actions.Registry) map[string]any {
	conds := map[string]any{"anyOf": []any{ref("condition"), map[string]any{"type": "array", "items": ref("condition")}}}
	var branches []any
	for _, s := range reg.All() {
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"action": map[string]any{"const": s.Name}}, "required": []any{"action"}},
			"then": map[string]any{"properties": map[string]any{"with": ref("with." + s.Name)}},
		})
	}
	var names []any
	for _, n := range reg.Names() {
		names = append(names, n)
	}
	return map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"oneOf":                []any{map[string]any{"required": []any{"action"}}, map[string]any{"required": []any{"assert"}}},
		"properties": map[string]any{
			"id":                map[string]any{"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
			"name":              map[string]any{"type": "string"},
			"action":            map[string]any{"enum": names},
			"with":              map[string]any{"type": "object"},
			"expect":            conds,
			"assert":            conds,
			"if":                ref("condition"),
			"timeout":           ref("duration"),
			"continue_on_error": map[string]any{"type": "boolean"},
			"keep":              map[string]any{"type": "boolean"},
			"retry": map[string]any{"anyOf": []any{
				map[string]any{"type": "integer", "minimum": 1},
				map[string]any{"type": "object", "additionalProperties": false, "required": []any{"attempts"}, "properties": map[string]any{
					"attempts": map[string]any{"type": "integer", "minimum": 1}, "delay": ref("duration"),
					"backoff": map[string]any{"type": "number", "minimum": 1}, "max_delay": ref("duration")}},
			}},
			"until": map[string]any{"anyOf": []any{
				ref("condition"),
				map[string]any{"type": "object", "additionalProperties": false, "required": []any{"expr"}, "properties": map[string]any{
					"expr": ref("condition"), "interval": ref("duration"), "timeout": ref("duration")}},
			}},
		},
		"allOf": branches,
	}
}

func paramsSchema(s *actions.Spec) map[string]any {
	props := map[string]any{}
	var required, requiredByAlias []any
	for _, f := range actions.FieldsOf(s.Params) {
		p := typeSchema(f.Type)
		if len(f.Enum) > 0 {
			var e []any
			for _, v := range f.Enum {
				e = append(e, v)
			}
			p = map[string]any{"anyOf": []any{map[string]any{"enum": e}, ref("expression")}}
		}
		if f.Doc != "" {
			p["description"] = f.Doc
		}
		if f.Default != "" {
			p["default"] = actions.ParseScalar(f.Default)
		}
		if r, ok := actions.RangeOf(f); ok {
			addRange(p, r)
		}
		props[f.Name] = p
		for _, a := range f.Aliases {
			props[a] = map[string]any{"$ref": "#/$defs/with." + s.Name + "/properties/" + f.Name, "description": "alias of " + f.Name}
		}
		switch {
		case !f.Required:
		case len(f.Aliases) == 0:
			required = append(required, f.Name)
		default: // required under its name or one of its aliases
			alt := []any{map[string]any{"required": []any{f.Name}}}
			for _, a := range f.Aliases {
				alt = append(alt, map[string]any{"required": []any{a}})
			}
			requiredByAlias = append(requiredByAlias, map[string]any{"anyOf": alt})
		}
	}
	requiredByAlias = append(requiredByAlias, groupsSchema(s)...)
	out := map[string]any{"type": "object", "additionalProperties": false, "properties": props, "description": s.Summary}
	if len(requiredByAlias) > 0 {
		out["allOf"] = requiredByAlias
	}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// groupsSchema states the action's parameter groups (actions.Grouper):
// exactly one given is oneOf, at most one is "no two together", at least
// one is anyOf. A parameter is given under its name or an alias.
func groupsSchema(s *actions.Spec) []any {
	fields := actions.FieldsOf(s.Params)
	present := func(name string) any {
		alt := []any{map[string]any{"required": []any{name}}}
		if f, ok := actions.Lookup(fields, name); ok {
			for _, a := range f.Aliases {
				alt = append(alt, map[string]any{"required": []any{a}})
			}
		}
		if len(alt) == 1 {
			return alt[0]
		}
		return map[string]any{"anyOf": alt}
	}
	var out []any
	for _, g := range actions.GroupsOf(s.NewParams()) {
		var each []any
		for _, p := range g.Params {
			each = append(each, present(p))
		}
		switch g.Rule {
		case actions.ExactlyOne:
			out = append(out, map[string]any{"oneOf": each})
		case actions.AtLeastOne:
			out = append(out, map[string]any{"anyOf": each})
		case actions.AtMostOne:
			var pairs []any
			for i := range each {
				for j := i + 1; j < len(each); j++ {
					pairs = append(pairs, map[string]any{"allOf": []any{each[i], each[j]}})
				}
			}
			out = append(out, map[string]any{"not": map[string]any{"anyOf": pairs}})
		}
	}
	return out
}

// addRange bounds a parameter as its min/max tags do. Beside the type's
// anyOf, minimum and maximum constrain numbers only (a duration's number of
// seconds too) and leave ${{ }} strings alone; a duration that must be more
// than 0 also refuses "0s" written as a string.
func addRange(p map[string]any, r actions.Range) {
	if r.Min != nil {
		if r.ExclusiveMin {
			p["exclusiveMinimum"] = *r.Min
		} else {
			p["minimum"] = *r.Min
		}
	}
	if r.Max != nil {
		p["maximum"] = *r.Max
	}
	if r.Durations() && r.ExclusiveMin && *r.Min == 0 {
		p["not"] = map[string]any{"type": "string", "pattern": `^\s*(0+(\.0*)?(ns|us|µs|ms|s|m|h))+\s*$`}
	}
}

var schemaProvider = reflect.TypeFor[actions.SchemaProvider]()

// typeSchema is the schema of one parameter type; any value may also be a
// single ${{ }} expression.
func typeSchema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var s map[string]any
	switch {
	case t.Implements(schemaProvider):
		s = reflect.Zero(t).Interface().(actions.SchemaProvider).ParamSchema()
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"} // expressions are strings too
	case t.Kind() == reflect.Bool:
		s = map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		s = map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		s = map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice:
		s = map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	case t.Kind() == reflect.Struct:
		props := map[string]any{}
		for _, f := range actions.FieldsOf(t) {
			props[f.Name] = typeSchema(f.Type)
		}
		s = map[string]any{"type": "object", "properties": props}
	default:
		return map[string]any{}
	}
	return map[string]any{"anyOf": []any{s, ref("expression")}}
}

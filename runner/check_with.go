package runner

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/types"

	"github.com/scnlabs/scn/actions"
)

var (
	paramDecoderType = reflect.TypeFor[actions.ParamDecoder]()
	typeNamer        = reflect.TypeFor[actions.TypeNamer]()
)

// checkWith checks a step's with: against its action's parameters. Literal
// values are decoded exactly as at run time; computed values are checked
// by the type their expression is known to have.
func (c *checker) checkWith(s *Step, env types.Map, before []*Step) {
	fields := actions.FieldsOf(s.Spec.Params)
	before0 := len(c.diags)
	given := map[string]bool{}
	keyPos := map[string]Pos{}
	if s.With != nil {
		for i, k := range s.With.Keys {
			f, ok := actions.Lookup(fields, k)
			if !ok {
				d := c.diags.errorf(s.With.KeyPos[i], "%s has no parameter %q", s.Action, k)
				d.Hint = hintFor(k, actions.Names(fields))
				if d.Hint == "" {
					d.Hint = "see `scn actions " + s.Action + "`"
				}
				continue
			}
			if given[f.Name] {
				c.diags.errorf(s.With.KeyPos[i], "parameter %q is given twice (directly and by an alias)", f.Name)
			}
			given[f.Name] = true
			keyPos[f.Name] = s.With.KeyPos[i]
			c.checkValue(s.With.Map[k], f, f.Name, env, before)
			c.checkUnique(s, s.With.Map[k], f)
		}
	}
	if r, ok := s.Spec.NewParams().(actions.Releaser); ok {
		delete(c.named, r.Releases()) // a delete may free any name
	}
	for _, f := range fields {
		if f.Required && !given[f.Name] && !s.withBad {
			pos := s.ActionPos
			d := c.diags.errorf(pos, "%s needs parameter %q", s.Action, f.Name)
			d.Hint = fmt.Sprintf("with: { %s: ... }  — %s", f.Name, f.Doc)
		}
	}
	c.checkGroups(s, given, keyPos)
	// Other cross-field rules can be checked now when nothing is computed.
	if s.With != nil && !s.With.HasExpr() && len(c.diags) == before0 {
		lit, _ := s.With.Eval(nil)
		p := s.Spec.NewParams()
		if err := actions.Decode(p, lit.(map[string]any), true); err != nil {
			c.diags.errorf(s.With.Pos, "%v", err)
		} else if v, ok := p.(actions.Validator); ok {
			if err := v.Validate(); err != nil {
				c.diags.errorf(s.With.Pos, "%s: %v", s.Action, err)
			}
		}
	}
}

// checkUnique refuses a literal value of a Unique parameter (a snapshot's
// name) that an earlier step gave already: the second step would fail
// with "already exists" once machines are rented. Two steps that both
// have if: may exclude each other, and are let be.
func (c *checker) checkUnique(s *Step, v *Value, f actions.Field) {
	u, ok := reflect.Zero(derefType(f.Type)).Interface().(actions.Unique)
	if !ok || v.Kind != ScalarValue || v.HasExpr() {
		return
	}
	lit, _ := v.Eval(nil)
	name, _ := lit.(string)
	if name = strings.TrimSpace(name); name == "" {
		return
	}
	ns := u.UniqueIn()
	if c.named == nil {
		c.named = map[string]map[string]named{}
	}
	if c.named[ns] == nil {
		c.named[ns] = map[string]named{}
	}
	if first, dup := c.named[ns][name]; dup && (first.step.If == nil || s.If == nil) {
		d := c.diags.errorf(v.Pos, "parameter %s: %s %q is made already by step %s at line %d: this %s would fail with \"already exists\"",
			f.Name, ns, name, stepName(first.step), first.pos.Line, s.Action)
		d.Hint = fmt.Sprintf("give each %s its own name, or leave %s out for the default, unique to the run and the step", ns, f.Name)
		return
	}
	c.named[ns][name] = named{s, v.Pos}
}

// stepName is "id" of a step, or its action when it has no id.
func stepName(s *Step) string {
	if s.IDGiven && s.ID != "" {
		return strconv.Quote(s.ID)
	}
	return s.Action
}

// checkValue checks one parameter value against its field: Go type, enum
// and range.
func (c *checker) checkValue(v *Value, f actions.Field, path string, env types.Map, before []*Step) {
	t := f.Type
	if v.Kind == ScalarValue && c.checkRunScoped(v, t, path, before) {
		return
	}
	if v.Kind == ScalarValue && v.Tmpl != nil {
		var got reflect.Type
		for _, e := range v.Tmpl.Parts {
			if e.Expr != nil {
				got = c.compileRefs(e.Expr, env, false, before)
			}
		}
		if v.Tmpl.Single == nil {
			got = reflect.TypeFor[string]() // text around an expression makes a string
		}
		if got != nil && !compatible(got, t) {
			d := c.diags.errorf(v.Pos, "parameter %s expects %s, but %q gives %s", path, goTypeName(t), v.Tmpl.Raw, typeName(got))
			switch {
			case got.Kind() == reflect.Slice:
				d.Hint = "pick one element of the list, e.g. ${{ steps.offer.offers[0] }}"
			case got.Kind() == reflect.Map:
				d.Hint = "pick a field of the value, e.g. ${{ steps.gpu.id }} instead of ${{ steps.gpu }}"
			}
			return
		}
		c.checkKind(v, t, path, before)
		return
	}
	if v.HasExpr() && reflect.PointerTo(t).Implements(paramDecoderType) {
		return // a custom type given computed parts: checked when it runs
	}
	if !v.HasExpr() {
		lit, _ := v.Eval(nil)
		if msg, hint := valueProblem(lit, f, path); msg != "" {
			c.diags.errorf(v.Pos, "%s", msg).Hint = hint
		}
		return
	}
	// A literal structure with computed parts inside: walk it.
	t = derefType(t)
	switch {
	case v.Kind == ListValue && t.Kind() == reflect.Slice:
		for i, e := range v.List {
			c.checkValue(e, actions.Field{Type: t.Elem()}, fmt.Sprintf("%s[%d]", path, i), env, before)
		}
	case v.Kind == MapValue && t.Kind() == reflect.Map:
		for _, k := range v.Keys {
			c.checkValue(v.Map[k], actions.Field{Type: t.Elem()}, path+"."+k, env, before)
		}
	case v.Kind == MapValue && t.Kind() == reflect.Struct:
		fields := actions.FieldsOf(t)
		for i, k := range v.Keys {
			f, ok := actions.Lookup(fields, k)
			if !ok {
				d := c.diags.errorf(v.KeyPos[i], "parameter %s has no key %q", path, k)
				d.Hint = hintFor(k, actions.Names(fields))
				continue
			}
			c.checkValue(v.Map[k], f, path+"."+f.Name, env, before)
		}
	case t.Kind() == reflect.Interface:
		for _, e := range v.Exprs() {
			c.compileRefs(e, env, false, before)
		}
	default:
		c.diags.errorf(v.Pos, "parameter %s expects %s, got %s", path, goTypeName(t), map[ValueKind]string{MapValue: "a mapping", ListValue: "a list"}[v.Kind])
	}
}

// valueProblem is what is wrong with value v for field f, as the step
// would find when it decodes it (type, enum, range), and a hint; "" when
// nothing is. The static check gives it literals, the pre-flight values
// computed from vars.
func valueProblem(v any, f actions.Field, path string) (msg, hint string) {
	dst := reflect.New(f.Type).Elem()
	if err := actions.Coerce(v, dst, path, true); err != nil {
		var de *actions.DecodeError
		if errors.As(err, &de) {
			return fmt.Sprintf("parameter %s: %s", de.Path, de.Msg), de.Hint
		}
		return err.Error(), ""
	}
	if s, ok := v.(string); ok && len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
		return fmt.Sprintf("parameter %s: %q is not one of %v", path, s, f.Enum), hintFor(s, f.Enum)
	}
	var de *actions.DecodeError
	if errors.As(actions.CheckRange(f, dst), &de) {
		return fmt.Sprintf("parameter %s: %s", path, de.Msg), rangeHint(f)
	}
	return "", ""
}

// checkGroups applies the action's parameter groups ("give files or
// from, not both"): which parameters are given is known before anything
// runs, even when their values are computed.
func (c *checker) checkGroups(s *Step, given map[string]bool, keyPos map[string]Pos) {
	var ge *actions.GroupError
	if !errors.As(actions.CheckGroups(actions.GroupsOf(s.Spec.NewParams()), func(n string) bool { return given[n] }), &ge) {
		return
	}
	pos := s.ActionPos
	if len(ge.Given) > 1 { // at the one written last
		pos = keyPos[ge.Given[0]]
		for _, n := range ge.Given {
			if p := keyPos[n]; p.Line > pos.Line || p.Line == pos.Line && p.Col > pos.Col {
				pos = p
			}
		}
	}
	d := c.diags.errorf(pos, "%s: %v", s.Action, ge)
	if len(ge.Given) > 1 {
		d.Hint = "keep one of " + strings.Join(ge.Given, ", ") + "; delete the rest"
		return
	}
	fields := actions.FieldsOf(s.Spec.Params)
	var opts []string
	for _, n := range ge.Group.Params {
		f, _ := actions.Lookup(fields, n)
		opts = append(opts, n+": "+f.Doc)
	}
	d.Hint = strings.Join(opts, "; or ")
}

// rangeHint names the fix for a value out of its parameter's range.
func rangeHint(f actions.Field) string {
	r, _ := actions.RangeOf(f)
	h := fmt.Sprintf("set %s to a value of %s", f.Name, r.Describe())
	if f.Default != "" {
		h += fmt.Sprintf(", or leave it out for the default %s", f.Default)
	}
	return h
}

// compatible reports whether an expression of type got can be decoded into
// a parameter of type want. Unknown (interface) types are accepted: they
// are checked when the step runs.
func compatible(got, want reflect.Type) bool {
	if got.Kind() == reflect.Interface || want.Kind() == reflect.Interface {
		return true
	}
	want = derefType(want)
	if reflect.PointerTo(want).Implements(paramDecoderType) {
		return got.Kind() != reflect.Slice && got.Kind() != reflect.Bool
	}
	switch want.Kind() {
	case reflect.String:
		return isScalar(got)
	case reflect.Bool:
		return got.Kind() == reflect.Bool || got.Kind() == reflect.String
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32, reflect.Uint, reflect.Uint64:
		return isNumber(got) || got.Kind() == reflect.String
	case reflect.Slice:
		return got.Kind() == reflect.Slice
	case reflect.Map, reflect.Struct:
		return got.Kind() == reflect.Map
	}
	return true
}

func isNumber(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Float32, reflect.Uint, reflect.Uint64:
		return true
	}
	return false
}

func isScalar(t reflect.Type) bool {
	return isNumber(t) || t.Kind() == reflect.String || t.Kind() == reflect.Bool
}

// goTypeName names a parameter type for users.
func goTypeName(t reflect.Type) string {
	t = derefType(t)
	if t.Implements(typeNamer) { // duration, instance, snapshot: they name themselves
		return article(reflect.Zero(t).Interface().(actions.TypeNamer).ParamTypeName())
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

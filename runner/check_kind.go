package runner

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/scnlabs/scn/actions"
)

var (
	referrerType  = reflect.TypeFor[actions.Referrer]()
	resourceType  = reflect.TypeFor[actions.Resource]()
	runScopedType = reflect.TypeFor[actions.RunScoped]()
)

// checkRunScoped refuses a parameter naming what only an earlier step of
// the run makes (a standby association) when no step before this one
// makes it, whatever its value: standby.status with no standby.create
// would otherwise fail only once the GPU is rented. It reports whether it
// found that problem.
func (c *checker) checkRunScoped(v *Value, t reflect.Type, path string, before []*Step) bool {
	t = derefType(t)
	if !t.Implements(runScopedType) {
		return false
	}
	kind := reflect.Zero(t).Interface().(actions.RunScoped).MadeInRun()
	for _, s := range before {
		if s.Spec != nil && s.Spec.Creates == kind || s.Spec == nil && s.Action != "" {
			return false // made here (or an unknown action, reported already)
		}
	}
	d := c.diags.errorf(v.Pos, "parameter %s needs %s made in this run, but no step before this one creates one", path, article(kind))
	d.Hint = fmt.Sprintf("%s lives only in the run that made it: add %s step before this one", article(kind), article(c.makerList([]string{kind})))
	if kind == "standby" {
		d.Hint = "a standby association lives only in the run that made it: add a standby.create step, with: { gpu: \"${{ steps.<gpu> }}\" }, before this one"
	}
	return true
}

// checkKind refuses an expression given to a parameter naming a resource
// when what it names is known to be something else: ${{ steps.X }} (or
// ${{ steps.X.id }}) of a step that makes another kind or nothing at all
// (files.create), or a part of a step's outputs of another kind (an offer
// of gpu.offers where an instance is expected). Each would otherwise fail
// only once the GPU is rented.
func (c *checker) checkKind(v *Value, t reflect.Type, path string, before []*Step) {
	if v.Tmpl == nil || v.Tmpl.Single == nil {
		return
	}
	t = derefType(t)
	if !t.Implements(referrerType) {
		return
	}
	kinds := reflect.Zero(t).Interface().(actions.Referrer).RefersTo()
	r := c.resolveRef(v.Tmpl.Single.Source)
	if r == nil || r.unknown || r.kind != "" && slices.Contains(kinds, r.kind) {
		return
	}
	var msg string
	switch {
	case r.whole && r.kind != "":
		msg = fmt.Sprintf("step %q (%s) makes %s", r.step.ID, r.step.Action, article(r.kind))
	case r.whole:
		msg = fmt.Sprintf("step %q (%s) makes no %s: its outputs name no resource", r.step.ID, r.step.Action, strings.Join(kinds, " or "))
	case r.kind != "":
		msg = fmt.Sprintf("%q is %s (from %s step %q)", v.Tmpl.Raw, article(r.kind), r.step.Action, r.step.ID)
	default:
		msg = fmt.Sprintf("%q is an output of %s step %q that names no resource", v.Tmpl.Raw, r.step.Action, r.step.ID)
	}
	d := c.diags.errorf(v.Pos, "parameter %s expects %s, but %s", path, article(kinds[0]), msg)
	d.Hint = c.kindHint(kinds, before)
	if r.kind == "offer" {
		d.Hint = "an offer is not a machine until instance.create rents it (with: { offer: ... }); " + d.Hint
	}
}

// kindHint names the steps before this one that make one of kinds, or
// the actions that would.
func (c *checker) kindHint(kinds []string, before []*Step) string {
	var refs []string
	for _, s := range before {
		if s.IDGiven && s.ID != "" && s.Spec != nil && slices.Contains(kinds, s.Spec.Creates) {
			refs = append(refs, fmt.Sprintf("${{ steps.%s }} (%s)", s.ID, s.Action))
		}
	}
	if len(refs) > 0 {
		return "give " + orList(refs)
	}
	return fmt.Sprintf("give ${{ steps.<id> }} of %s step", article(c.makerList(kinds)))
}

// makerList lists the actions creating one of kinds: "a, b or c".
func (c *checker) makerList(kinds []string) string {
	var makers []string
	for _, spec := range c.reg.All() {
		if slices.Contains(kinds, spec.Creates) {
			makers = append(makers, spec.Name)
		}
	}
	return orList(makers)
}

// orList joins "a, b or c".
func orList(items []string) string {
	if n := len(items); n > 1 {
		return strings.Join(items[:n-1], ", ") + " or " + items[n-1]
	}
	return strings.Join(items, "")
}

// refTarget is what an expression of the form steps.X, steps.X.id or
// steps.X.<path> names, as far as the types of X's outputs tell.
type refTarget struct {
	step    *Step
	whole   bool   // steps.X or steps.X.id
	kind    string // the kind of resource named; "" with !unknown: none
	unknown bool   // a value the checker cannot judge (a string, any)
}

// resolveRef resolves src when it is a path into a checked step's outputs
// (steps.X, steps.X.id, steps.offer.offers[0], steps.l.instances[0].id);
// nil for any other expression.
func (c *checker) resolveRef(src string) *refTarget {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var props []ast.Node // outermost first
	n := tree.Node
	for {
		m, ok := n.(*ast.MemberNode)
		if !ok || m.Optional {
			break
		}
		props = append(props, m.Property)
		n = m.Node
	}
	root, ok := n.(*ast.IdentifierNode)
	if !ok || root.Value != "steps" || len(props) == 0 {
		return nil
	}
	slices.Reverse(props)
	id, ok := props[0].(*ast.StringNode)
	if !ok {
		return nil
	}
	s := c.index[id.Value]
	if s == nil || s.Spec == nil {
		return nil
	}
	r := &refTarget{step: s, whole: len(props) == 1}
	t := s.Spec.Outputs
	kind := s.Spec.Creates
	if kind == "" {
		kind = resourceKind(t)
	}
	for i, p := range props[1:] {
		t = derefType(t)
		last := i == len(props)-2
		switch p := p.(type) {
		case *ast.StringNode:
			if p.Value == "id" && last && kind != "" {
				r.whole = i == 0
				r.kind = kind // the id of what the object names
				return r
			}
			if t.Kind() == reflect.Map {
				t = t.Elem()
				break
			}
			f, ok := actions.Lookup(actions.FieldsOf(t), p.Value)
			if !ok {
				return &refTarget{unknown: true} // status, seconds...: no resource
			}
			t = f.Type
		case *ast.IntegerNode:
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return &refTarget{unknown: true}
			}
			t = t.Elem()
		default:
			return &refTarget{unknown: true}
		}
		kind = resourceKind(t)
	}
	t = derefType(t)
	switch {
	case kind != "":
		r.kind = kind
	case t.Kind() != reflect.Struct:
		r.unknown = true // a string may well be an id; lists are refused by type
	default:
		_, hasID := actions.Lookup(actions.FieldsOf(t), "id")
		r.unknown = hasID // an object with an id of no declared kind: maybe
	}
	return r
}

// resourceKind is the kind of resource values of type t name
// (actions.Resource), "" when none is declared.
func resourceKind(t reflect.Type) string {
	t = derefType(t)
	if t.Implements(resourceType) {
		return reflect.Zero(t).Interface().(actions.Resource).ResourceKind()
	}
	if reflect.PointerTo(t).Implements(resourceType) {
		return reflect.New(t).Interface().(actions.Resource).ResourceKind()
	}
	return ""
}

// article puts "a" or "an" before a noun.
func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// derefType is t without its pointers.
func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

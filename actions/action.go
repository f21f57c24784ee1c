// Package actions defines what a scenario step can do. An action is a Go
// function with a typed parameter struct and a typed output struct,
// registered under a dotted name (instance.create, snapshot.restore). The
// struct tags are the single source of its documentation (`scn actions`),
// its JSON Schema (`scn schema`) and the static checks the runner makes
// before anything runs. Built-in actions live one family per folder under
// actions/ (actions/instance, actions/snapshot, ...) and are gathered in one
// map by actions/builtin.
//
// Parameters stay typed all the way: the runner evaluates `with:`,
// decodes it into a fresh *P and hands that to Run — no action re-decodes
// maps. Small optional interfaces add behaviour where a family needs it
// (Caddy-style): a params struct may implement Validator (cross-field
// checks) and, for a paid action, Pricer (its worst-case hourly price for
// `scn plan`); an outputs struct may report a transfer, a validation or a
// standby to the journal (report.go).
package actions

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Info is an action's identity and documentation.
type Info struct {
	Name    string // dotted: family.verb
	Summary string // one line for `scn actions`
	Doc     string // longer explanation, markdown
	Example string // a YAML step, shown by `scn actions NAME`
	// Creates names the kind of resource the action creates and undoes at
	// the end (instance, snapshot, standby); "" when it creates nothing.
	Creates string
	// Paid marks actions that can spend real money on a paid target.
	Paid bool
	// Needs names what the action needs of its target (target.NeedCompute,
	// NeedStandby, NeedStore): a scenario whose target lacks it is refused
	// before its first step, instead of failing at that step.
	Needs []string
}

// Spec is a registered action: its Info plus the reflected types of its
// parameters and outputs and the typed function that runs it.
type Spec struct {
	Info
	Params  reflect.Type // struct
	Outputs reflect.Type // struct
	run     func(ctx context.Context, env *Env, params any) (any, error)
}

// Validator is implemented by a params struct that needs cross-field
// checks ("give files or from, not both"). It runs after decoding — at
// check time when the values are literal, and before Run otherwise.
type Validator interface {
	Validate() error
}

// Define registers the typed function run under info.Name. P and O must be
// structs; their fields' tags describe the parameters and outputs.
func Define[P, O any](info Info, run func(ctx context.Context, env *Env, p *P) (*O, error)) *Spec {
	pt, ot := reflect.TypeFor[P](), reflect.TypeFor[O]()
	if pt.Kind() != reflect.Struct || ot.Kind() != reflect.Struct {
		panic(fmt.Sprintf("action %s: params and outputs must be structs", info.Name))
	}
	for _, f := range FieldsOf(ot) {
		if f.Name == "status" || f.Name == "error" || f.Name == "tries" {
			panic(fmt.Sprintf("action %s: output %q would hide the step's own %s", info.Name, f.Name, f.Name))
		}
	}
	return &Spec{
		Info:    info,
		Params:  pt,
		Outputs: ot,
		run: func(ctx context.Context, env *Env, params any) (any, error) {
			out, err := run(ctx, env, params.(*P))
			if out == nil {
				return nil, err // not a non-nil any holding a nil *O
			}
			return out, err
		},
	}
}

// NewParams returns a pointer to a zero params struct, ready for Decode.
func (s *Spec) NewParams() any { return reflect.New(s.Params).Interface() }

// NewOutputs returns a pointer to a zero outputs struct.
func (s *Spec) NewOutputs() any { return reflect.New(s.Outputs).Interface() }

// Run runs the action with params (a pointer from NewParams, decoded). The
// outputs (a pointer to the outputs struct) may be non-nil even when err is
// not: a verification that fails still reports what it found.
func (s *Spec) Run(ctx context.Context, env *Env, params any) (any, error) {
	if v, ok := params.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return s.run(ctx, env, params)
}

// Registry maps action names to specs.
type Registry struct {
	specs map[string]*Spec
}

// NewRegistry builds a registry; a duplicate name is a programming error.
func NewRegistry(specs ...*Spec) *Registry {
	r := &Registry{specs: map[string]*Spec{}}
	for _, s := range specs {
		if _, dup := r.specs[s.Name]; dup {
			panic("action registered twice: " + s.Name)
		}
		r.specs[s.Name] = s
	}
	return r
}

// Get finds an action by name.
func (r *Registry) Get(name string) (*Spec, bool) {
	s, ok := r.specs[name]
	return s, ok
}

// Names lists the registered actions, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.specs))
	for n := range r.specs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All returns the specs sorted by name.
func (r *Registry) All() []*Spec {
	var out []*Spec
	for _, n := range r.Names() {
		out = append(out, r.specs[n])
	}
	return out
}

// family is the part of an action name before the dot (instance, snapshot).
func family(name string) string {
	f, _, _ := strings.Cut(name, ".")
	return f
}

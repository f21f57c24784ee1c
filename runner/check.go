package runner

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"

	"github.com/scnlabs/scn/actions"
)

// Checked is a scenario that passed Check: every action resolved to its
// spec, every expression compiled. Only Check makes one, and New takes
// nothing else, so a scenario nobody checked cannot run.
type Checked struct{ sc *Scenario }

// Scenario returns the checked scenario (for plans, names and messages).
func (c *Checked) Scenario() *Scenario { return c.sc }

// Check resolves and checks everything in sc before anything runs: actions,
// parameters (unknown, required, types, enums, durations), step ids,
// references to steps and to their outputs, and every expression. It
// compiles the expressions in place. All problems are returned together;
// without any, the scenario comes back as a Checked, ready for New.
func Check(sc *Scenario, reg *actions.Registry) (*Checked, error) {
	c := &checker{sc: sc, reg: reg, index: map[string]*Step{}}
	c.run()
	if len(c.diags) > 0 {
		return nil, c.diags.sorted()
	}
	return &Checked{sc: sc}, nil
}

type checker struct {
	sc    *Scenario
	reg   *actions.Registry
	diags Diagnostics
	index map[string]*Step // steps with a given id
	order []*Step          // all steps, steps then finally
	vars  types.Map
	// named holds the literal values of Unique parameters seen so far, by
	// namespace (snapshot names), each with where it was given.
	named map[string]map[string]named
}

type named struct {
	step *Step
	pos  Pos
}

// stepFields are present on every steps.<id>, whatever the action.
// tries counts the runs of the action (retry attempts and until polls); it
// is not "attempts", which is instance.create's count of offers tried.
var stepFields = types.Map{"status": types.String, "seconds": types.Float64, "error": types.String, "tries": types.Int}

// runFields are the names under run.
var runFields = types.Map{"id": types.String, "unix": types.Int, "started_at": types.String,
	"target": types.String, "status": types.String, "file": types.String, "name": types.String}

func (c *checker) run() {
	c.order = c.sc.All()
	for _, s := range c.order {
		if !s.IDGiven || s.ID == "" {
			continue
		}
		if first, dup := c.index[s.ID]; dup {
			c.diags.errorf(s.IDPos, "duplicate step id %q (first used at line %d)", s.ID, first.IDPos.Line)
			continue
		}
		c.index[s.ID] = s
	}
	c.checkVars()
	if e := c.sc.TimeoutExpr; e != nil {
		c.compile(e, types.Map{"vars": c.vars, "env": types.Map{types.Extra: types.String}}, false)
	}
	for i, s := range c.order {
		c.checkStep(s, c.order[:i])
	}
	c.checkReport()
}

func (c *checker) checkVars() {
	c.vars = types.Map{}
	for _, v := range c.sc.Vars {
		env := types.Map{"env": types.Map{types.Extra: types.String}, "vars": c.vars}
		var t types.Type = types.Any
		if v.Default != nil {
			for _, e := range v.Default.Exprs() {
				if c.checkLaterVars(v, e) {
					c.compile(e, env, false)
				}
			}
			if !v.Default.HasExpr() && v.Default.Kind == ScalarValue && v.Default.Scalar != nil {
				t = types.TypeOf(v.Default.Scalar)
			}
		}
		c.vars[v.Name] = t
	}
}

// checkLaterVars refuses vars.<x> in the default of var v when x is v
// itself or declared below it: a default sees only the vars above it, and
// expr's "unknown field x" would not say so. It reports whether e is free
// of such references.
func (c *checker) checkLaterVars(v *Var, e *Expr) bool {
	tree, err := parser.Parse(e.Source)
	if err != nil {
		return true // compile reports it
	}
	ok := true
	for _, r := range stepRefs(tree.Node) {
		if r.root != "vars" {
			continue
		}
		if _, above := c.vars[r.id]; above {
			continue
		}
		pos := e.Pos
		pos.Col += r.col
		i := slices.IndexFunc(c.sc.Vars, func(x *Var) bool { return x.Name == r.id })
		switch {
		case r.id == v.Name:
			c.diags.errorf(pos, "var %s uses itself in its default %q", v.Name, e.Source)
		case i >= 0:
			d := c.diags.errorf(pos, "var %s uses vars.%s, declared below it (line %d): a var's default sees only the vars above it", v.Name, r.id, c.sc.Vars[i].Pos.Line)
			d.Hint = fmt.Sprintf("move %s above %s", r.id, v.Name)
		default:
			d := c.diags.errorf(pos, "unknown var %q in expression %q", r.id, e.Source)
			d.Hint = hintFor(r.id, sortedKeys(c.vars))
			if d.Hint == "" {
				d.Hint = "declare it under vars: above this one"
			}
		}
		ok = false
	}
	return ok
}

// envFor is the typed scope of expressions in step s: vars, env, run and
// the steps that ran before it.
func (c *checker) envFor(before []*Step) types.Map {
	steps := types.Map{}
	for _, s := range before {
		if s.IDGiven && s.ID != "" {
			steps[s.ID] = c.stepType(s)
		}
	}
	return types.Map{"vars": c.vars, "env": types.Map{types.Extra: types.String}, "run": runFields, "steps": steps}
}

func (c *checker) stepType(s *Step) types.Map {
	if s.Spec == nil {
		if s.Action != "" { // unknown action: anything goes, the action is reported already
			return types.Map{types.Extra: types.Any}
		}
		return stepFields
	}
	return structType(s.Spec.Outputs, stepFields)
}

func (c *checker) checkStep(s *Step, before []*Step) {
	env := c.envFor(before)
	for _, k := range sortedKeys(s.DurationExprs) {
		c.compileRefs(s.DurationExprs[k], env, false, before)
	}
	if s.If != nil {
		c.compileRefs(s.If, env, true, before)
	}
	for _, e := range s.Assert {
		c.compileRefs(e, env, true, before)
	}
	if s.Action == "" {
		return
	}
	spec, ok := c.reg.Get(s.Action)
	if !ok {
		d := c.diags.errorf(s.ActionPos, "unknown action %q", s.Action)
		d.Hint = hintFor(s.Action, c.reg.Names())
		if d.Hint == "" {
			d.Hint = "run `scn actions` to list them"
		}
		return
	}
	s.Spec = spec
	// (Only keep: written in a file: scn do keeps by default whatever it
	// runs, see AdHoc, and has no line to point at.)
	if s.Keep && s.KeepPos.Line > 0 && spec.Creates == "" {
		d := c.diags.errorf(s.KeepPos, "keep: true does nothing here: %s creates nothing to keep", s.Action)
		d.Hint = "remove it: keep: is for steps that create something (instance.create, standby.create, snapshot.create)"
	}
	c.checkWith(s, env, before)
	// In expect and until the step's own outputs are also top-level names.
	own := types.Map{}
	for k, v := range env {
		own[k] = v
	}
	for k, v := range structType(spec.Outputs, nil) {
		if _, clash := own[k]; !clash {
			own[k] = v
		}
	}
	for _, e := range s.Expect {
		c.compileRefs(e, own, true, before)
	}
	if s.Until != nil && s.Until.Expr != nil {
		c.compileRefs(s.Until.Expr, own, true, before)
	}
}

func (c *checker) checkReport() {
	r := c.sc.Report
	for _, ph := range r.Phases {
		for i, id := range ph.Steps {
			if c.index[id] == nil {
				d := c.diags.errorf(ph.Poss[i], "phase %q names unknown step %q", ph.Name, id)
				d.Hint = hintFor(id, c.ids())
			}
		}
	}
	if r.Validation != "" && c.index[r.Validation] == nil {
		d := c.diags.errorf(r.ValPos, "report.validation names unknown step %q", r.Validation)
		d.Hint = hintFor(r.Validation, c.ids())
	}
	env := c.envFor(c.order)
	for _, m := range r.Metrics {
		for _, e := range m.Value.Exprs() {
			c.compileRefs(e, env, false, c.order)
		}
	}
	c.checkObjectives()
}

func (c *checker) ids() []string {
	var out []string
	for _, s := range c.order {
		if s.IDGiven && c.index[s.ID] == s && idPattern.MatchString(s.ID) {
			out = append(out, s.ID)
		}
	}
	return out
}

// compileRefs checks step references with friendly messages, then compiles.
func (c *checker) compileRefs(e *Expr, env types.Map, cond bool, before []*Step) reflect.Type {
	if !c.checkRefs(e, before) {
		return nil
	}
	return c.compile(e, env, cond)
}

// compile type-checks e in env and keeps the program. cond requires a
// boolean result (if, expect, assert, until).
func (c *checker) compile(e *Expr, env types.Map, cond bool) reflect.Type {
	opts := []expr.Option{expr.Env(env)}
	if cond {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(e.Source, opts...)
	if err != nil {
		c.exprError(e, err, env)
		return nil
	}
	e.Program = prog
	return prog.Node().Type()
}

// checkRefs reports steps.<id>.<field> references to unknown or later
// steps and to outputs the action does not have.
func (c *checker) checkRefs(e *Expr, before []*Step) bool {
	tree, err := parser.Parse(e.Source)
	if err != nil {
		c.exprError(e, err, nil)
		return false
	}
	ok := true
	for _, r := range stepRefs(tree.Node) {
		pos := e.Pos
		pos.Col += r.col
		if r.root == "vars" {
			if _, declared := c.vars[r.id]; !declared {
				d := c.diags.errorf(pos, "unknown var %q in expression %q", r.id, e.Source)
				d.Hint = hintFor(r.id, sortedKeys(c.vars))
				if d.Hint == "" {
					d.Hint = "declare it under vars: at the top of the scenario"
				}
				ok = false
			}
			continue
		}
		s := c.index[r.id]
		switch {
		case s == nil:
			d := c.diags.errorf(pos, "unknown step %q in expression %q", r.id, e.Source)
			d.Hint = hintFor(r.id, c.ids())
			ok = false
		case !slices.Contains(before, s):
			c.diags.errorf(pos, "step %q runs after this one (line %d): its outputs are not known yet", r.id, s.Pos.Line)
			ok = false
		case r.field != "" && s.Spec != nil:
			outs := actions.FieldsOf(s.Spec.Outputs)
			if _, has := actions.Lookup(outs, r.field); !has && stepFields[r.field] == nil {
				d := c.diags.errorf(pos, "step %q (%s) has no output %q", r.id, s.Action, r.field)
				d.Hint = "its outputs are " + strings.Join(outputNames(outs), ", ")
				if h := didYouMean(r.field, outputNames(outs)); h != "" {
					d.Hint = h
				}
				if h := renamedHint(r.field, outputNames(outs)); h != "" {
					d.Hint = h
				}
				ok = false
			}
		}
	}
	return ok
}

// renamedOutputs are outputs renamed so that a name has one type in every
// action: a drill written before says the new name.
var renamedOutputs = map[string]string{"files": "file_count", "verified": "valid", "deleted": "deleted_files"}

// renamedHint points a drill written before a rename at the new name.
func renamedHint(name string, known []string) string {
	if n, ok := renamedOutputs[name]; ok && slices.Contains(known, n) {
		return fmt.Sprintf("it is called %s now (one name, one type in every action: docs/decisions.md)", n)
	}
	if name == "attempts" {
		return "a step's own count of runs (retries and until polls) is tries; attempts is instance.create's count of offers tried"
	}
	return ""
}

// outputNames lists a step's outputs plus the fields every step has.
func outputNames(outs []actions.Field) []string {
	names := actions.Names(outs)
	for _, f := range []string{"status", "seconds", "error", "tries"} {
		if !slices.Contains(names, f) {
			names = append(names, f)
		}
	}
	return names
}

// ref is a steps.<id> or steps.<id>.<field> reference in an expression.
type ref struct {
	root      string // steps | vars
	id, field string
	col       int // offset of "steps" in the source
}

// stepRefs finds the references, written with dots or ["..."]. ast.Walk
// visits children first, so steps.<id> is seen before steps.<id>.<field>.
func stepRefs(root ast.Node) []*ref {
	byNode := map[ast.Node]*ref{}
	var out []*ref
	ast.Walk(&root, visitor(func(n ast.Node) {
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return
		}
		prop, ok := m.Property.(*ast.StringNode)
		if !ok {
			return
		}
		if id, ok := m.Node.(*ast.IdentifierNode); ok && (id.Value == "steps" || id.Value == "vars") {
			r := &ref{root: id.Value, id: prop.Value, col: id.Location().From}
			byNode[m] = r
			out = append(out, r)
		} else if r := byNode[m.Node]; r != nil && r.field == "" {
			r.field = prop.Value
		}
	}))
	return out
}

type visitor func(ast.Node)

// identMember is n when it is <identifier>.<name> (vars.token,
// phases["detection"]): the identifier and the name; ok is false for any
// other node.
func identMember(n ast.Node) (id *ast.IdentifierNode, name string, ok bool) {
	m, isMember := n.(*ast.MemberNode)
	if !isMember {
		return nil, "", false
	}
	id, isIdent := m.Node.(*ast.IdentifierNode)
	prop, isString := m.Property.(*ast.StringNode)
	if !isIdent || !isString {
		return nil, "", false
	}
	return id, prop.Value, true
}

func (v visitor) Visit(n *ast.Node) { v(*n) }

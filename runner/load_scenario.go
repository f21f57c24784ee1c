package runner

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/scnlabs/scn/actions"
)

var (
	topKeys    = []string{"name", "description", "vars", "timeout", "budget", "steps", "finally", "report", "objectives"}
	stepKeys   = []string{"id", "name", "action", "with", "expect", "if", "timeout", "retry", "until", "continue_on_error", "keep", "assert"}
	retryKeys  = []string{"attempts", "delay", "backoff", "max_delay"}
	untilKeys  = []string{"expr", "interval", "timeout"}
	reportKeys = []string{"phases", "validation", "metrics"}
	varKeys    = []string{"default", "secret", "required", "description"}
	idPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (l *loader) scenario(doc *yaml.Node) *Scenario {
	sc := &Scenario{File: l.file}
	root := resolve(doc)
	if root == nil || root.Kind != yaml.MappingNode {
		if root == nil {
			root = doc
		}
		l.errorf(root, "a scenario must be a mapping with name: and steps:, got %s", kindName(root))
		return sc
	}
	pairs, _ := l.mapping(root, "the scenario")
	var stepsNode, finallyNode *yaml.Node
	for _, p := range pairs {
		switch p.key {
		case "name":
			sc.Name = l.str(p.v, "name")
			l.emptyString(p.v, sc.Name, "name", "name: my-drill (it is shown in reports)")
		case "description":
			sc.Description = l.str(p.v, "description")
		case "vars":
			sc.Vars = l.vars(p.v)
		case "timeout":
			sc.Timeout, sc.TimeoutExpr = l.durationOrExpr(p.v, "timeout")
		case "budget":
			sc.Budget = l.budget(p.v)
		case "steps":
			stepsNode = p.v
		case "finally":
			finallyNode = p.v
		case "report":
			sc.Report = l.report(p.v)
		case "objectives":
			sc.Objectives = l.objectives(p.v)
		default:
			l.unknownKey(p, "the scenario", topKeys)
		}
	}
	if sc.Name == "" && !hasKey(pairs, "name") {
		d := l.errorf(root, "the scenario has no name:")
		d.Hint = "add name: my-drill at the top"
	}
	if stepsNode == nil {
		d := l.errorf(root, "the scenario has no steps:")
		d.Hint = "add steps: with at least one step"
	} else {
		sc.Steps = l.steps(stepsNode, "steps", 0)
		if len(sc.Steps) == 0 && len(l.diags) == 0 {
			l.errorf(stepsNode, "steps: is empty")
		}
	}
	if finallyNode != nil {
		sc.Finally = l.steps(finallyNode, "finally", len(sc.Steps))
	}
	return sc
}

func (l *loader) vars(n *yaml.Node) []*Var {
	pairs, ok := l.mapping(n, "vars")
	if !ok {
		return nil
	}
	var out []*Var
	for _, p := range pairs {
		v := &Var{Name: p.key, Pos: l.pos(p.k)}
		if !idPattern.MatchString(p.key) {
			d := l.errorf(p.k, "var name %q is not an identifier", p.key)
			d.Hint = "use letters, digits and _ (vars.gpu_a, not vars.gpu-a)"
		}
		if resolve(p.v).Kind == yaml.MappingNode {
			l.varLongForm(v, p.v)
		} else {
			v.Default = l.value(p.v)
		}
		out = append(out, v)
	}
	return out
}

// varLongForm reads a var written as a mapping, which is always the long
// form {default, secret, required, description}: a mistyped key
// (`requird: true`) is an error rather than silently turning the var into
// an object. An object-valued var is written {default: {...}}.
func (l *loader) varLongForm(v *Var, n *yaml.Node) {
	pairs, _ := l.mapping(n, "var "+v.Name)
	if len(pairs) == 0 {
		d := l.errorf(n, "var %s is an empty mapping", v.Name)
		d.Hint = fmt.Sprintf("give it a default (%s: {default: ...}); an empty object is written %s: {default: {}}", v.Name, v.Name)
	}
	for _, q := range pairs {
		switch q.key {
		case "default":
			v.Default = l.value(q.v)
		case "secret":
			v.Secret = l.boolean(q.v, "secret")
		case "required":
			v.Required = l.boolean(q.v, "required")
		case "description":
			v.Description = l.str(q.v, "description")
		default:
			d := l.errorf(q.k, "unknown key %q in var %s", q.key, v.Name)
			d.Hint = fmt.Sprintf("a var written as a mapping is {default, secret, required, description}; an object-valued var is written %s: {default: {%s: ...}}", v.Name, q.key)
			if h := actions.Hint(q.key, varKeys); strings.Contains(h, "did you mean") {
				d.Hint = hintFor(q.key, varKeys)
			}
		}
	}
}

func (l *loader) budget(n *yaml.Node) *Budget {
	pairs, ok := l.mapping(n, "budget")
	if !ok {
		return nil
	}
	b := &Budget{Pos: l.pos(n)}
	for _, p := range pairs {
		if p.key != "max_usd" {
			l.unknownKey(p, "budget", []string{"max_usd"})
			continue
		}
		var ok bool
		if b.MaxUSD, ok = l.numberOK(p.v, "budget.max_usd"); ok && b.MaxUSD <= 0 {
			l.errorf(p.v, "budget.max_usd must be a positive number of dollars")
		}
	}
	return b
}

func (l *loader) report(n *yaml.Node) Report {
	var r Report
	pairs, ok := l.mapping(n, "report")
	if !ok {
		return r
	}
	for _, p := range pairs {
		switch p.key {
		case "phases":
			phases, _ := l.mapping(p.v, "report.phases")
			for _, ph := range phases {
				def := PhaseDef{Name: ph.key, Pos: l.pos(ph.k)}
				for _, s := range l.strList(ph.v, "phase "+ph.key) {
					def.Steps = append(def.Steps, s.Value)
					def.Poss = append(def.Poss, l.pos(s))
				}
				r.Phases = append(r.Phases, def)
			}
		case "validation":
			r.Validation, r.ValPos = l.str(p.v, "report.validation"), l.pos(p.v)
		case "metrics":
			metrics, _ := l.mapping(p.v, "report.metrics")
			for _, m := range metrics {
				r.Metrics = append(r.Metrics, MetricDef{Name: m.key, Value: l.value(m.v)})
			}
		default:
			l.unknownKey(p, "report", reportKeys)
		}
	}
	return r
}

// objectives reads `objectives: {name: expression}`. Names are
// identifiers so reports can name them (JUnit's objective:<name>).
func (l *loader) objectives(n *yaml.Node) []*Objective {
	pairs, _ := l.mapping(n, "objectives")
	var out []*Objective
	for _, p := range pairs {
		if !idPattern.MatchString(p.key) {
			d := l.errorf(p.k, "objective name %q is not an identifier", p.key)
			d.Hint = "use letters, digits and _ (rto, data_loss)"
		}
		if e := l.bareExpr(p.v, "objective "+p.key); e != nil {
			out = append(out, &Objective{Name: p.key, Pos: l.pos(p.k), Expr: e})
		}
	}
	return out
}

package runner

import (
	"fmt"
	"io"
	"strings"
)

// Plan is what a checked scenario would do: its steps, what they create,
// the most it can cost, and how it is cleaned up.
type Plan struct {
	Scenario  *Scenario
	Target    string
	Steps     []*Step
	Creates   []PlannedResource
	WorstCost float64 // USD; 0 when nothing is paid
	CostNote  string  // how WorstCost was bounded, or why it could not be
	Unbounded bool    // a paid resource without a price or duration bound
}

// PlannedResource is a resource a step would create.
type PlannedResource struct {
	Step         *Step
	Kind         string
	PricePerHour float64 // 0 when free or unknown
	PriceNote    string
	Kept         bool
}

// Pricer bounds the hourly price of what a paid step creates, from its
// literal parameters or the target's offers; ok false when it cannot.
type Pricer func(s *Step) (pricePerHour float64, note string, ok bool)

// MakePlan builds the plan of a checked scenario on target (the check
// tells which steps create what); price may be nil.
func MakePlan(c *Checked, target string, price Pricer) *Plan {
	sc := c.sc
	p := &Plan{Scenario: sc, Target: target, Steps: sc.All()}
	hours := sc.Timeout.Hours()
	var unknown []string
	for _, s := range p.Steps {
		if s.Spec == nil || s.Spec.Creates == "" {
			continue
		}
		r := PlannedResource{Step: s, Kind: s.Spec.Creates, Kept: s.Keep}
		if s.Spec.Paid && price != nil {
			if pr, note, ok := price(s); ok {
				r.PricePerHour, r.PriceNote = pr, note
			} else {
				unknown = append(unknown, s.ID)
				r.PriceNote = note
			}
		}
		p.Creates = append(p.Creates, r)
		p.WorstCost += r.PricePerHour * hours
	}
	switch {
	case len(unknown) > 0:
		p.Unbounded = true
		p.CostNote = "cannot bound the price of steps " + strings.Join(unknown, ", ") + ": give instance.create a max_price"
	case p.WorstCost > 0 && sc.Timeout == 0:
		p.Unbounded = true
		p.CostNote = "no timeout: the scenario can run (and pay) for ever; set timeout:"
	case p.WorstCost > 0:
		// Traffic billed per GB (VAST's bandwidth, a GCP standby's egress)
		// is known only once it has moved: said, not bounded.
		p.CostNote = fmt.Sprintf("every paid resource alive for the whole timeout (%s), plus any traffic billed per GB", sc.Timeout)
	}
	if b := sc.Budget; b != nil && (p.Unbounded || p.WorstCost > b.MaxUSD) {
		p.CostNote += fmt.Sprintf("; budget.max_usd $%.2f stops the run before that", b.MaxUSD)
	}
	return p
}

// Write prints the plan for people.
func (p *Plan) Write(w io.Writer) {
	sc := p.Scenario
	fmt.Fprintf(w, "Plan: %s (%s) on target %s\n", sc.Name, sc.File, p.Target)
	if sc.Description != "" {
		fmt.Fprintf(w, "  %s\n", sc.Description)
	}
	if sc.Timeout > 0 {
		fmt.Fprintf(w, "  timeout %s", sc.Timeout)
		if sc.Budget != nil {
			fmt.Fprintf(w, ", budget $%.2f", sc.Budget.MaxUSD)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nSteps:")
	section := "steps"
	for _, s := range p.Steps {
		if s.Section != section {
			section = s.Section
			fmt.Fprintln(w, "  finally (always run):")
		}
		what, title, notes := planRow(s, func(expr string) string { return expr })
		note := ""
		if len(notes) > 0 {
			note = "  [" + strings.Join(notes, "; ") + "]"
		}
		fmt.Fprintf(w, "  %2d  %-14s %-18s %s%s\n", s.Index, displayID(s), what, title, note)
	}
	fmt.Fprintln(w, "\nChecks (what this drill proves):")
	checks := p.Checks()
	if len(checks) == 0 {
		fmt.Fprintln(w, "  none: no expect, assert or until — a pass only says the steps ran")
	}
	for _, c := range checks {
		fmt.Fprintf(w, "  %2d  %-14s %-6s  %s%s\n", c.Step.Index, displayID(c.Step), c.Kind, c.Expr, c.Note)
	}
	fmt.Fprintln(w, "\nCreates:")
	if len(p.Creates) == 0 {
		fmt.Fprintln(w, "  nothing")
	}
	for _, r := range p.Creates {
		price := "free"
		if r.PricePerHour > 0 {
			price = fmt.Sprintf("≤ $%.4f/h", r.PricePerHour)
		} else if r.PriceNote != "" {
			price = r.PriceNote
		}
		if r.PriceNote != "" && r.PricePerHour > 0 {
			price += " (" + r.PriceNote + ")"
		}
		fmt.Fprintf(w, "  %-9s by step %-14s %s\n", r.Kind, displayID(r.Step), price)
	}
	fmt.Fprintf(w, "\nWorst-case cost: ")
	switch {
	case p.Unbounded:
		fmt.Fprintf(w, "unbounded — %s\n", p.CostNote)
	case p.WorstCost == 0:
		fmt.Fprintln(w, "$0 (nothing paid)")
	default:
		fmt.Fprintf(w, "$%.4f — %s\n", p.WorstCost, p.CostNote)
	}
	fmt.Fprintln(w, "\nCleanup (last in, first out, whatever happens — success, failure, timeout, Ctrl+C):")
	n := 0
	for i := len(p.Creates) - 1; i >= 0; i-- {
		r := p.Creates[i]
		if r.Kept {
			fmt.Fprintf(w, "  -  %s from step %s is kept (keep: true): remove it yourself or with scn cleanup\n", r.Kind, displayID(r.Step))
			continue
		}
		n++
		verb := "destroy"
		if r.Kind == "snapshot" {
			verb = "delete"
		}
		fmt.Fprintf(w, "  %d. %s the %s from step %s\n", n, verb, r.Kind, displayID(r.Step))
	}
	if len(p.Creates) == 0 {
		fmt.Fprintln(w, "  nothing to clean up")
	}
}

// planRow is a step's line in the plan: the action ("assert" for an
// assert step), its title and notes (if, creates, kept, retry, until,
// timeout); code renders an expression (as is, or as Markdown code).
func planRow(s *Step, code func(string) string) (what, title string, notes []string) {
	what, title = s.Action, s.Name
	if what == "" {
		what = "assert"
	}
	if s.Action == "" && title == "" {
		title = s.Title()
	}
	if s.If != nil {
		notes = append(notes, "if "+code(s.If.Source))
	}
	if s.Spec != nil && s.Spec.Creates != "" {
		notes = append(notes, "creates "+s.Spec.Creates)
	}
	if s.Keep {
		notes = append(notes, "kept")
	}
	if s.Retry != nil {
		notes = append(notes, fmt.Sprintf("retry %d", s.Retry.Attempts))
	}
	if s.Until != nil && s.Until.Expr != nil {
		notes = append(notes, "until "+code(s.Until.Expr.Source))
	}
	if s.Timeout > 0 {
		notes = append(notes, "timeout "+s.Timeout.String())
	}
	return what, title, notes
}

// PlannedCheck is one condition the run checks: an expect, assert or until
// of a step.
type PlannedCheck struct {
	Step *Step
	Kind string // expect, assert or until
	Expr string
	Note string // how long an until waits, e.g. "  (every 1s, at most 2m0s)"
}

// Checks lists every expect, assert and until of the scenario, in step
// order: what a passing run has proved.
func (p *Plan) Checks() []PlannedCheck {
	var out []PlannedCheck
	for _, s := range p.Steps {
		if s.Until != nil && s.Until.Expr != nil {
			var when []string
			if s.Until.Interval > 0 {
				when = append(when, "every "+s.Until.Interval.String())
			}
			if s.Until.Timeout > 0 {
				when = append(when, "at most "+s.Until.Timeout.String())
			}
			note := ""
			if len(when) > 0 {
				note = "  (" + strings.Join(when, ", ") + ")"
			}
			out = append(out, PlannedCheck{Step: s, Kind: "until", Expr: s.Until.Expr.Source, Note: note})
		}
		for _, e := range s.Expect {
			out = append(out, PlannedCheck{Step: s, Kind: "expect", Expr: e.Source})
		}
		for _, e := range s.Assert {
			out = append(out, PlannedCheck{Step: s, Kind: "assert", Expr: e.Source})
		}
	}
	return out
}

func displayID(s *Step) string {
	if s.IDGiven {
		return s.ID
	}
	return "#" + fmt.Sprint(s.Index)
}

// Literal returns the value of parameter name of step s when it is known
// before running: a literal, or ${{ vars.X }} of a var given on the
// command line (vars) or with a literal default.
func (sc *Scenario) Literal(s *Step, name string, vars map[string]string) (any, bool) {
	if s.With == nil || s.With.Map[name] == nil {
		return nil, false
	}
	v := s.With.Map[name]
	if !v.HasExpr() {
		x, _ := v.Eval(nil)
		return x, true
	}
	if v.Tmpl == nil || v.Tmpl.Single == nil {
		return nil, false
	}
	src := strings.TrimSpace(v.Tmpl.Single.Source)
	varName, ok := strings.CutPrefix(src, "vars.")
	if !ok {
		return nil, false
	}
	for _, d := range sc.Vars {
		if d.Name != varName {
			continue
		}
		if raw, given := vars[varName]; given {
			x, err := typedVar(raw, d.Default)
			return x, err == nil
		}
		if d.Default != nil && !d.Default.HasExpr() {
			x, _ := d.Default.Eval(nil)
			return x, true
		}
	}
	return nil, false
}

// Referenced returns the step a parameter's single expression reads from
// (steps.X.anything), or nil.
func (sc *Scenario) Referenced(s *Step, name string) *Step {
	if s.With == nil || s.With.Map[name] == nil || s.With.Map[name].Tmpl == nil || s.With.Map[name].Tmpl.Single == nil {
		return nil
	}
	src := strings.TrimSpace(s.With.Map[name].Tmpl.Single.Source)
	rest, ok := strings.CutPrefix(src, "steps.")
	if !ok {
		return nil
	}
	id := rest
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		id = rest[:i]
	}
	for _, x := range sc.All() {
		if x.IDGiven && x.ID == id {
			return x
		}
	}
	return nil
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
)

// resolveVars computes vars from --var overrides and defaults.
func (r *Runner) resolveVars() error {
	var diags Diagnostics
	declared := map[string]*Var{}
	var names []string
	for _, v := range r.sc.Vars {
		declared[v.Name] = v
		names = append(names, v.Name)
	}
	for _, k := range sortedKeys(r.opts.Vars) {
		if declared[k] == nil {
			d := diags.errorf(Pos{File: "--var " + k}, "scenario %s declares no var %q", r.sc.File, k)
			d.Hint = hintFor(k, names)
		}
	}
	r.vars = map[string]any{}
	for _, v := range r.sc.Vars {
		var val any
		raw, given := r.opts.Vars[v.Name]
		switch {
		case given:
			var err error
			if val, err = typedVar(raw, v.Default); err != nil {
				diags.errorf(Pos{File: "--var " + v.Name}, "%v", err)
			}
		case v.Default != nil:
			scope := map[string]any{"env": r.env, "vars": r.vars}
			var err error
			val, err = v.Default.Eval(func(e *Expr) (any, error) { return r.eval(e, scope) })
			if err != nil {
				diags.errorf(v.Pos, "var %s: %v", v.Name, err)
			}
		case v.Required:
			d := diags.errorf(v.Pos, "var %s is required", v.Name)
			d.Hint = fmt.Sprintf("pass --var %s=...", v.Name)
		}
		if v.Secret && val != nil {
			r.mask.Add(FormatValue(val))
		}
		r.vars[v.Name] = val
	}
	if len(diags) > 0 {
		return diags
	}
	return nil
}

// typedVar types a --var string like the var's literal default: a var
// whose default is a string stays a string even when given 4090.
func typedVar(raw string, def *Value) (any, error) {
	if def == nil || def.HasExpr() || def.Kind != ScalarValue {
		return actions.ParseScalar(raw), nil
	}
	switch d := def.Scalar.(type) {
	case string:
		return raw, nil
	case int:
		var n int
		if _, err := fmt.Sscan(raw, &n); err != nil {
			return nil, fmt.Errorf("expected a whole number like the default %d, got %q", d, raw)
		}
		return n, nil
	case float64:
		var f float64
		if _, err := fmt.Sscan(raw, &f); err != nil {
			return nil, fmt.Errorf("expected a number like the default %v, got %q", d, raw)
		}
		return f, nil
	case bool:
		switch raw {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("expected true or false, got %q", raw)
	}
	return actions.ParseScalar(raw), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (r *Runner) newJournal() *journal.Journal {
	j := &journal.Journal{Version: journal.Version, RunID: r.opts.RunID, Scenario: r.sc.Name,
		Description: r.sc.Description, File: r.sc.File, Status: "running", StartedAt: r.started.UTC(),
		Steps: []journal.Step{}, Cleanup: []journal.Undo{}, Resources: []journal.Resource{}, Phases: []journal.Phase{}}
	if t := r.opts.Target; t != nil {
		j.Target, j.TargetKind = t.Name, t.Kind
	}
	j.Hostname, _ = os.Hostname()
	if len(r.vars) > 0 {
		j.Vars = map[string]any{}
		for _, v := range r.sc.Vars {
			if v.Secret {
				j.Vars[v.Name] = "***"
			} else {
				j.Vars[v.Name] = r.mask.Value(r.vars[v.Name])
			}
		}
	}
	return j
}

// finish completes the journal: status, exit code, resources, cost and
// the drill's figures.
func (r *Runner) finish(ctx context.Context, runErr error) {
	j := r.j
	j.EndedAt = time.Now().UTC()
	j.Seconds = j.EndedAt.Sub(j.StartedAt).Seconds()
	j.Resources = r.tracker.Resources()
	for i, res := range j.Resources {
		if res.State == "alive" {
			j.Resources[i].State = "leaked"
			r.sink.Warn(fmt.Sprintf("%s %s on %s was NOT destroyed and may still cost money: remove it with `scn cleanup --run %s`",
				res.Kind, res.ID, res.Provider, r.opts.RunID))
		}
	}
	j.Cost = r.tracker.Cost()
	r.mu.Lock()
	fatal := r.fatal
	r.mu.Unlock()
	var intr *Interrupted
	switch {
	case fatal != nil:
		j.Status, j.ExitCode, runErr = journal.StatusError, 2, fatal
	case errors.As(context.Cause(ctx), &intr):
		j.Status, j.ExitCode = journal.StatusInterrupted, 130
		if intr.Signal == syscall.SIGTERM {
			j.ExitCode = 143
		}
		runErr = intr
	case runErr != nil:
		j.Status, j.ExitCode = journal.StatusFailed, 1
	default:
		j.Status, j.ExitCode = journal.StatusPassed, 0
	}
	if runErr != nil {
		j.Error = r.mask.String(runErr.Error())
	}
	j.Phases = r.phases()
	j.Validation = r.validation()
	j.Snapshots, j.Standby = r.transfers()
	j.Metrics = r.metrics()
}

func (r *Runner) phases() []journal.Phase {
	secs := map[string]float64{}
	for _, s := range r.j.Steps {
		secs[s.ID] = s.Seconds
	}
	out := []journal.Phase{}
	for _, def := range r.sc.Report.Phases {
		p := journal.Phase{Name: def.Name, Steps: def.Steps}
		for _, id := range def.Steps {
			p.Seconds += secs[id]
		}
		out = append(out, p)
	}
	return out
}

// validation takes the verdict of report.validation, else of the last
// step whose outputs report one (files.verify, snapshot.restore ...).
func (r *Runner) validation() *journal.Validation {
	r.mu.Lock()
	defer r.mu.Unlock()
	pick := func(id string) *journal.Validation {
		if v, ok := r.typed[id].(actions.ValidationReport); ok {
			val := v.Validation()
			val.Step = id
			for i := range val.Failures {
				val.Failures[i].Path = r.mask.String(val.Failures[i].Path)
			}
			return &val
		}
		return nil
	}
	if id := r.sc.Report.Validation; id != "" {
		return pick(id)
	}
	for i := len(r.j.Steps) - 1; i >= 0; i-- {
		if v := pick(r.j.Steps[i].ID); v != nil {
			return v
		}
	}
	return nil
}

// transfers gathers snapshot/restore/sync figures and the standby summary.
func (r *Runner) transfers() ([]journal.Transfer, *journal.Standby) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []journal.Transfer
	var sb *journal.Standby
	for _, s := range r.j.Steps {
		o := r.typed[s.ID]
		if t, ok := o.(actions.TransferReport); ok {
			tr := t.Transfer()
			tr.Step = s.ID
			out = append(out, tr)
		}
		if st, ok := o.(actions.StandbyReport); ok {
			v := st.Standby()
			sb = &v
		}
	}
	return out, sb
}

func (r *Runner) metrics() map[string]any {
	if len(r.sc.Report.Metrics) == 0 {
		return nil
	}
	scope := r.scope(nil)
	out := map[string]any{}
	for _, m := range r.sc.Report.Metrics {
		v, err := m.Value.Eval(func(e *Expr) (any, error) { return r.eval(e, scope) })
		if err != nil {
			out[m.Name] = "error: " + r.mask.String(err.Error())
			continue
		}
		out[m.Name] = r.mask.Value(v)
	}
	return out
}

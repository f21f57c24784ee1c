package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/resource"
)

func (r *Runner) newJournal() *journal.Journal {
	j := &journal.Journal{Version: journal.Version, RunID: r.opts.RunID, Scenario: r.sc.Name,
		Description: r.sc.Description, File: r.sc.File, Status: "running", StartedAt: r.started.UTC(),
		Steps: []journal.Step{}, Cleanup: []journal.Undo{}, Resources: []journal.Resource{}, Phases: []journal.Phase{},
		TraceID: r.opts.TraceID}
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
	j.Cost = resource.Totals(j.Resources) // the resources as listed, not a later reading
	r.mu.Lock()
	fatal := r.fatal
	r.mu.Unlock()
	// The figures first: objectives judge them, and a missed one fails a
	// run that otherwise passed.
	j.Phases = r.phases()
	j.Validation = r.validation()
	j.Snapshots, j.Standby = r.transfers()
	j.Recovery = journal.RecoveryOf(j)
	j.Metrics = r.metrics()
	j.Objectives = r.judgeObjectives()
	var intr *Interrupted
	if runErr == nil && fatal == nil && !errors.As(context.Cause(ctx), &intr) {
		runErr = objectivesError(j.Objectives)
	}
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
	if v := j.Validation; v != nil && !v.Success && j.Status == journal.StatusPassed {
		// A step may pass (continue_on_error, an expect that allows it)
		// while the files did not come back: the drill's verdict is the
		// validation's, and a failed verdict is not a PASS.
		j.Status, j.ExitCode = journal.StatusFailed, 1
		j.Error = fmt.Sprintf("validation by step %s failed: %d/%d files valid", v.Step, v.Valid, v.Total)
		if v.Links > 0 {
			j.Error += fmt.Sprintf(", %d/%d hard links", v.LinksValid, v.Links)
		}
	}
	r.judgeControl()
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
			p.Seconds = addSeconds(p.Seconds, secs[id])
		}
		out = append(out, p)
	}
	return out
}

// addSeconds adds durations in seconds to the nanosecond, dividing once,
// so the sum prints as the decimal it is: adding the floats printed
// 0.248347071 + 0.2140228 as 0.46236987100000004, in the journal and in
// an objective's line.
func addSeconds(a, b float64) float64 {
	return (math.Round(a*1e9) + math.Round(b*1e9)) / 1e9
}

// validation takes the verdict of report.validation, else of the last
// step that validated something (files.verify, snapshot.restore ...).
func (r *Runner) validation() *journal.Validation {
	r.mu.Lock()
	defer r.mu.Unlock()
	pick := func(id string) *journal.Validation {
		v, ok := r.typed[id].(actions.ValidationReport)
		if !ok {
			return nil
		}
		val, checked := v.Validation()
		if !checked {
			return nil
		}
		val.Step = id
		for i := range val.Failures {
			val.Failures[i].Path = r.mask.String(val.Failures[i].Path)
		}
		return &val
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

// Package actiontest is the kit action tests share: a Run that hands out
// each step's Env the way the runner does and runs actions as steps
// (decode with:, Validate, Run), an in-memory compute provider (Provider)
// and a command runner that answers from the test instead of a machine
// (Execer). They are small test doubles for unit tests of actions; what
// speaks a real protocol (SSH servers, the VAST and Compute Engine fakes,
// S3) is tested with those, and a Run drives them just as well: give it a
// target assembled from them.
//
// By default a Run reaches an instance with a real /bin/sh in the folder
// above its workspace — the machine's home, as in a local sandbox — so
// what actions run there (tar, md5sum, find) really runs.
package actiontest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/undo"
)

// Run is one run of a scenario, seen from its actions: the target, the
// undo stack and resource tracker every step shares, the run-wide shared
// values, and how machines are reached. What it created is undone when the
// test ends, and every undo must succeed (or be kept, by keep: true).
type Run struct {
	ID        string
	Target    *target.Target
	Undo      *undo.Stack
	Resources *resource.Tracker
	Shared    *actions.Shared
	// Dir is the run directory relative local paths resolve under
	// (actions.Env.Dir); "" is the current directory, as for scn do.
	// Set it before the first step.
	Dir string
	// Events receives what the actions show on the console (nil: nothing);
	// set it before the first step.
	Events event.Sink
	// Connect and Probe reach instances: the target's when it has them,
	// else Connect is Shell and Probe nil. Change them before the first
	// step.
	Connect func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error)
	Probe   func(ctx context.Context, inst *cloud.Instance) error

	mu   sync.Mutex
	envs map[string]*actions.Env
}

// NewRun starts a run on tgt (nil: no target). Its undos run, last in
// first out, when the test ends.
func NewRun(t testing.TB, tgt *target.Target) *Run {
	r := &Run{ID: "run1", Target: tgt, Undo: &undo.Stack{}, Shared: &actions.Shared{}, Connect: Shell,
		envs: map[string]*actions.Env{}}
	name := ""
	if tgt != nil {
		name = tgt.Name
		if tgt.Connect != nil {
			r.Connect = tgt.Connect
		}
		r.Probe = tgt.Probe
	}
	r.Resources = resource.NewTracker(r.ID, name, nil, r.Undo)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, u := range r.Undo.Unwind(ctx, nil) {
			if u.Status != "done" && u.Status != "kept" { // kept: the step's keep: true
				t.Errorf("undo %q: %s %s", u.Description, u.Status, u.Error)
			}
		}
	})
	return r
}

// Shell reaches an instance with a real /bin/sh in the folder above its
// workspace.
func Shell(_ context.Context, inst *cloud.Instance) (remote.Execer, error) {
	if inst.Workspace == "" {
		return nil, fmt.Errorf("instance %s has no workspace to run a shell by", inst.ID)
	}
	return remote.Shell{Dir: filepath.Dir(inst.Workspace)}, nil
}

// Env is the Env of step id, the same one for every call with that id (so
// a test can read its logs after the step ran).
func (r *Run) Env(step string) *actions.Env {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.envs[step]; ok {
		return e
	}
	e := &actions.Env{RunID: r.ID, Dir: r.Dir, Events: r.Events, Step: step, Target: r.Target, Resources: r.Resources, Undo: r.Undo,
		Shared: r.Shared, Connect: r.Connect, Probe: r.Probe}
	r.envs[step] = e
	return e
}

// Do runs spec as step id with parameters with, as the runner does: with
// is decoded into the action's params (a parameter that does not decode
// fails the test: it is the test's mistake), validated, and run. It returns
// the action's outputs and error.
func (r *Run) Do(t testing.TB, step string, spec *actions.Spec, with map[string]any) (any, error) {
	t.Helper()
	p := spec.NewParams()
	if err := actions.Decode(p, with, false); err != nil {
		t.Fatalf("step %s (%s): decoding %v: %v", step, spec.Name, with, err)
	}
	return spec.Run(context.Background(), r.Env(step), p)
}

// OK runs a step that must succeed and returns its outputs.
func OK[O any](t testing.TB, r *Run, step string, spec *actions.Spec, with map[string]any) *O {
	t.Helper()
	out, err := r.Do(t, step, spec, with)
	if err != nil {
		t.Fatalf("step %s (%s): %v", step, spec.Name, err)
	}
	return out.(*O)
}

// Until re-runs a step until cond holds, like `until:`; it gives up, and
// fails the test, after 20 seconds.
func Until[O any](t testing.TB, r *Run, step string, spec *actions.Spec, with map[string]any, cond func(*O) bool) *O {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := OK[O](t, r, step, spec, with)
		if cond(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("step %s: condition still false after 20s: %+v", step, out)
		}
		time.Sleep(5 * time.Millisecond) // the until: interval
	}
}

// Params decodes with as literal parameters of spec, strictly, and
// validates them: what the checker does before a run. It returns the
// params and the first problem.
func Params(spec *actions.Spec, with map[string]any) (any, error) {
	p := spec.NewParams()
	err := actions.Decode(p, with, true)
	if v, ok := p.(actions.Validator); ok && err == nil {
		err = v.Validate()
	}
	return p, err
}

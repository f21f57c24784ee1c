package actions

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/undo"
)

// Env is what a running action can reach: the target's providers, the run's
// resource tracker and undo stack, and the console. The runner builds one
// per step; the fields shared across steps point at the same run objects.
type Env struct {
	RunID  string
	Step   string // id of the running step
	Keep   bool   // the step said keep: true — do not undo what it creates
	Target *target.Target
	// Dir is the run directory (.scn/runs/<id>/): local files an action
	// writes (files.create save:) go under it and only under it
	// (WriteRunFile), and relative paths it reads (files.verify from:)
	// resolve under it (LocalPath), so a drill never litters the directory
	// scn runs in. "" (scn do, which has no run directory): the current
	// directory.
	Dir string

	Resources *resource.Tracker
	Undo      *undo.Stack
	Events    event.Sink
	// Shared holds run-wide state of action families (standby associations)
	// by key, for the life of the run.
	Shared *Shared
	// Connect returns a command runner on the instance: a pooled SSH
	// client on real targets (host key pinned for the run).
	Connect func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error)
	// Probe checks an instance answers over SSH on a fresh connection
	// (readiness: cloud.WaitOptions.Probe).
	Probe func(ctx context.Context, inst *cloud.Instance) error

	logMu sync.Mutex
	logs  []string
}

// Instance asks the provider for the instance's current state: on the
// provider that created it (ref.Provider) or, when unknown, the target's
// compute provider, then its standby provider. It is for steps about the
// instance's state (instance.status); steps that only use the machine
// call Running or Exec, which trust the run's record (Known). The answer
// becomes the run's record.
func (e *Env) Instance(ctx context.Context, ref InstanceRef) (*cloud.Instance, error) {
	if e.Target == nil {
		return nil, fmt.Errorf("no target to look instance %s up on", ref.ID)
	}
	var tried []string
	for _, p := range []cloud.Provider{e.Target.Compute, e.Target.Standby} {
		if p == nil || (ref.Provider != "" && p.Name() != ref.Provider) || slices.Contains(tried, p.Name()) {
			continue
		}
		tried = append(tried, p.Name())
		inst, err := p.Get(ctx, ref.ID)
		if errors.Is(err, cloud.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("looking up instance %s on %s: %w", ref.ID, p.Name(), err)
		}
		e.Remember(inst)
		return inst, nil
	}
	e.ForgetInstance(ref.ID)
	return nil, fmt.Errorf("instance %s: %w on %s (destroyed, or made on another target?)", ref.ID, cloud.ErrNotFound, strings.Join(tried, " or "))
}

// Running returns the run's record of the instance (Known: the provider
// is asked only when the run has none) and checks it can be reached: it
// must be running, and the target must have a way to connect to it. A
// machine that went away since is found out by the SSH dial, which asks
// the provider before retrying.
func (e *Env) Running(ctx context.Context, ref InstanceRef) (*cloud.Instance, error) {
	inst, err := e.Known(ctx, ref)
	if err != nil {
		return nil, err
	}
	if inst.Status != cloud.StatusRunning {
		return nil, fmt.Errorf("instance %s is %s, not running", inst.ID, inst.Status)
	}
	if e.Connect == nil {
		return nil, fmt.Errorf("no way to reach instances on this target")
	}
	return inst, nil
}

// Exec finds the running instance (Running) and connects to it.
func (e *Env) Exec(ctx context.Context, ref InstanceRef) (remote.Execer, *cloud.Instance, error) {
	inst, err := e.Running(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	x, err := e.Connect(ctx, inst)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to instance %s (%s): %w", inst.ID, inst.Addr(), err)
	}
	return x, inst, nil
}

// LocalPath resolves a local file path an action was given to read: an
// absolute path as is, a relative one under the run directory (Dir), or
// relative to the current directory when there is none. A file an action
// writes goes through WriteRunFile, which keeps it under Dir.
func (e *Env) LocalPath(p string) string {
	if e.Dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.Dir, p)
}

// Label is the label every resource of this step carries, so a sweeper
// can find it: scn-<run-id>-<step-id>.
func (e *Env) Label() string {
	return "scn-" + e.RunID + "-" + strings.NewReplacer("#", "-", "_", "-").Replace(e.Step)
}

// Begin records the intent to create a resource of kind on provider (see
// resource.Tracker.Begin): call it before asking the provider. label is
// what cleanup finds the resource by if scn dies before it has an id; ""
// means the step's label (Label).
func (e *Env) Begin(kind, provider, label, detail string) (*resource.Pending, error) {
	if label == "" {
		label = e.Label()
	}
	return e.Resources.Begin(resource.Spec{Step: e.Step, Kind: kind, Provider: provider,
		Label: label, Detail: detail, Keep: e.Keep})
}

// Moved returns what hears the bytes crossing an instance's own network
// link during a transfer (snapshot.CreateOptions.Moved), as they cross:
// they go on its bill at once (resource.Handle.Moved), since a provider
// may bill every byte an instance sends or receives (VAST: inet_up_cost,
// inet_down_cost). So every try of a retry and every poll of an until
// pays for what it moved, a transfer that then fails too, and the budget
// sees the bytes during a long transfer, not after it. The machine is a
// GPU (kind instance) or a standby (GCP bills its egress), looked up once:
// for one the run did not rent it is nil, which every transfer takes as
// nothing listening.
func (e *Env) Moved(instance string) func(sent, received int64) {
	if e.Resources == nil {
		return nil
	}
	h := e.Resources.Find("instance", instance)
	if h == nil {
		h = e.Resources.Find("standby", instance)
	}
	if h == nil {
		return nil
	}
	return h.Moved
}

// Logf shows a line on the console under the current step and keeps it in
// the step's journal entry.
func (e *Env) Logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	e.logMu.Lock()
	e.logs = append(e.logs, line)
	e.logMu.Unlock()
	if e.Events != nil {
		e.Events.Log(e.Step, line)
	}
}

// Journalf keeps a line in the step's journal entry without showing it on
// the console: for what the console already showed when it happened (a
// standby's background events, printed live, that standby.status records),
// so nothing is printed twice.
func (e *Env) Journalf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	e.logMu.Lock()
	e.logs = append(e.logs, line)
	e.logMu.Unlock()
}

// Logs returns the lines logged so far.
func (e *Env) Logs() []string {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	return append([]string(nil), e.logs...)
}

// Wait reports a long wait for the console's spinner.
func (e *Env) Wait(what string, elapsed time.Duration) {
	if e.Events != nil {
		e.Events.Wait(e.Step, what, elapsed)
	}
}

// Transfer reports bytes moved; total < 0 when unknown.
func (e *Env) Transfer(what string, done, total int64) {
	if e.Events != nil {
		e.Events.Transfer(e.Step, what, done, total)
	}
}

// Shared is a run-scoped registry of values keyed by name.
type Shared struct {
	mu sync.Mutex
	m  map[string]any
}

// Load returns the value under key, creating it with init on first use.
// A nil Shared keeps nothing: it returns nil.
func (s *Shared) Load(key string, init func() any) any {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]any{}
	}
	v, ok := s.m[key]
	if !ok {
		v = init()
		s.m[key] = v
	}
	return v
}

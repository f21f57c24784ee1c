package actions

import (
	"fmt"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/undo"
)

// Env is what a running action can reach: the target's worlds, the run's
// resource tracker and undo stack, and the console. The runner builds one
// per step; the fields shared across steps point at the same run objects.
type Env struct {
	RunID    string
	Step     string // id of the running step
	Keep     bool   // the step said keep: true — do not undo what it creates
	StateDir string
	Target   *target.Target

	Resources *resource.Tracker
	Undo      *undo.Stack
	Events    event.Sink
	// Shared holds run-wide state of action families (standby associations)
	// by key, for the life of the run.
	Shared *Shared

	logMu sync.Mutex
	logs  []string
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
func (s *Shared) Load(key string, init func() any) any {
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

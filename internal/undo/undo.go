// Package undo is the stack of things a run must take back at the end. An
// action pushes an entry the moment it has created something (before it
// waits for it to be ready, so a failure while waiting still destroys it);
// the runner unwinds the stack last-in-first-out when the scenario ends —
// passed, failed, timed out or interrupted — under its own deadline.
package undo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// Func takes something back. It must be idempotent: the thing may already
// be gone (destroyed by a later step, or by the provider).
type Func func(ctx context.Context) error

// Entry is one pushed undo.
type Entry struct {
	Step        string
	Description string // "destroy instance 42"
	Resource    string // resource id, when the entry destroys one

	stack *Stack
	fn    Func
	state string // pending, done, failed, kept, cancelled
	early bool   // stops background work: runs before every other undo
}

// Stack is safe for concurrent use: background work (a standby's sync
// loop) can push while steps run.
type Stack struct {
	// Retries are the pauses before trying a failed undo again (undos are
	// idempotent, and a cloud API or store may fail once and answer the
	// next time). Nil means DefaultRetries.
	Retries []time.Duration

	mu      sync.Mutex
	entries []*Entry
}

// DefaultRetries: a failed undo is tried twice more, 1 s then 3 s later.
var DefaultRetries = []time.Duration{time.Second, 3 * time.Second}

// Push registers fn. keep means the step asked to keep what it created:
// the entry is recorded (so the report says what was kept) but never run.
func (s *Stack) Push(step, desc, resource string, keep bool, fn Func) *Entry {
	e := &Entry{Step: step, Description: desc, Resource: resource, stack: s, fn: fn, state: "pending"}
	if keep {
		e.state = "kept"
	}
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.mu.Unlock()
	return e
}

// PushEarly registers fn to run before every ordinary undo: stopping
// background work (a standby's sync loop) that would otherwise watch the
// resources being destroyed and report them failing.
func (s *Stack) PushEarly(step, desc string, fn Func) *Entry {
	e := s.Push(step, desc, "", false, fn)
	s.mu.Lock()
	e.early = true
	s.mu.Unlock()
	return e
}

// Unkeep makes a kept entry run after all: what it undoes turned out not
// to be what the step keeps (a machine provisioning gave up).
func (e *Entry) Unkeep() {
	e.stack.mu.Lock()
	defer e.stack.mu.Unlock()
	if e.state == "kept" {
		e.state = "pending"
	}
}

// Cancel drops the entry without running it: the thing was taken back
// some other way (instance.destroy ran, a failed instance was destroyed
// during fallback).
func (e *Entry) Cancel() {
	e.stack.mu.Lock()
	defer e.stack.mu.Unlock()
	if e.state == "pending" {
		e.state = "cancelled"
	}
}

// Pending lists the entries that would run at unwind, newest first: what
// is still alive if the process stopped now.
func (s *Stack) Pending() []*Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Entry
	for i := len(s.entries) - 1; i >= 0; i-- {
		if s.entries[i].state == "pending" {
			out = append(out, s.entries[i])
		}
	}
	return out
}

// Kept lists the entries a step asked to keep.
func (s *Stack) Kept() []*Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Entry
	for _, e := range s.entries {
		if e.state == "kept" {
			out = append(out, e)
		}
	}
	return out
}

// Unwind runs every pending entry, newest first, each bounded by ctx. It
// does not stop at a failure: every entry gets its chance. onDone (may be
// nil) is told about each entry as it finishes, for the live console.
func (s *Stack) Unwind(ctx context.Context, onDone func(journal.Undo)) []journal.Undo {
	var out []journal.Undo
	for {
		e := s.popPending()
		if e == nil {
			break
		}
		start := time.Now()
		attempts, err := s.try(ctx, e.fn)
		u := journal.Undo{Step: e.Step, Description: e.Description, Resource: e.Resource,
			Status: "done", StartedAt: start.UTC(), Seconds: time.Since(start).Seconds(), Attempts: attempts}
		s.mu.Lock()
		e.state = "done"
		if err != nil {
			e.state = "failed"
			u.Status, u.Error = "failed", err.Error()
		}
		s.mu.Unlock()
		out = append(out, u)
		if onDone != nil {
			onDone(u)
		}
	}
	for _, e := range s.Kept() {
		out = append(out, journal.Undo{Step: e.Step, Description: e.Description, Resource: e.Resource, Status: "kept"})
	}
	return out
}

// try runs fn, and again after each pause of Retries while it fails and
// ctx allows; it returns how many tries were made and the last error.
func (s *Stack) try(ctx context.Context, fn Func) (int, error) {
	pauses := s.Retries
	if pauses == nil {
		pauses = DefaultRetries
	}
	err := runSafely(ctx, fn)
	tries := 1
	for _, p := range pauses {
		if err == nil || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(p)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break // the deadline came first: the last try's error says why it failed
		}
		err, tries = runSafely(ctx, fn), tries+1
	}
	return tries, err
}

// popPending takes the newest pending entry and marks it running, so an
// entry pushed during unwind (rare, but background work may) is not lost.
func (s *Stack) popPending() *Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, early := range []bool{true, false} {
		for i := len(s.entries) - 1; i >= 0; i-- {
			if e := s.entries[i]; e.state == "pending" && e.early == early {
				e.state = "running"
				return e
			}
		}
	}
	return nil
}

// runSafely turns a panic in an undo into an error so the other undos
// still run.
func runSafely(ctx context.Context, fn Func) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in cleanup: %v", r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cleanup deadline passed before this undo could run: %w", err)
	}
	return fn(ctx)
}

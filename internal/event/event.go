// Package event is how a running scenario tells the world what it is doing:
// the runner and the actions emit events, and sinks (the live console, a
// test recorder) render them. Keeping this a tiny interface lets the runner
// stay ignorant of terminals, colours and spinners.
package event

import (
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// Sink receives a run's events. Calls come from several goroutines (a
// standby syncs in the background while steps run): implementations lock.
type Sink interface {
	// RunStarted: the scenario passed its checks and is about to run.
	RunStarted(j *journal.Journal, steps int)
	// StepStarted / StepFinished bracket every step, skipped ones included
	// (a skipped step gets only StepFinished).
	StepStarted(s *journal.Step)
	StepFinished(s *journal.Step)
	// Log is a line a step wants shown (log action, per-file validation).
	Log(step, line string)
	// Wait reports progress of a long wait, for a spinner:
	// "waiting for SSH on instance 42 (loading, 35s)".
	Wait(step, what string, elapsed time.Duration)
	// Transfer reports bytes moved so far; total < 0 when unknown.
	Transfer(step, what string, done, total int64)
	// Warn is something the user should see that is not a step failure
	// (leftovers in the ledger, a standby that died).
	Warn(msg string)
	// CleanupStarted / UndoFinished cover the undo stack at the end.
	CleanupStarted(n int)
	UndoFinished(u *journal.Undo)
	// RunFinished: the journal is complete.
	RunFinished(j *journal.Journal)
}

// Discard is a Sink that ignores everything.
type Discard struct{}

func (Discard) RunStarted(*journal.Journal, int)      {}
func (Discard) StepStarted(*journal.Step)             {}
func (Discard) StepFinished(*journal.Step)            {}
func (Discard) Log(string, string)                    {}
func (Discard) Wait(string, string, time.Duration)    {}
func (Discard) Transfer(string, string, int64, int64) {}
func (Discard) Warn(string)                           {}
func (Discard) CleanupStarted(int)                    {}
func (Discard) UndoFinished(*journal.Undo)            {}
func (Discard) RunFinished(*journal.Journal)          {}

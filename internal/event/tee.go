package event

import (
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// Tee returns a Sink that hands every event to each of sinks, in order:
// the console and a test's recorder, or (later) trace spans.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) RunStarted(j *journal.Journal, steps int) {
	for _, s := range t {
		s.RunStarted(j, steps)
	}
}

func (t tee) StepStarted(st *journal.Step) {
	for _, s := range t {
		s.StepStarted(st)
	}
}

func (t tee) StepFinished(st *journal.Step) {
	for _, s := range t {
		s.StepFinished(st)
	}
}

func (t tee) Log(step, line string) {
	for _, s := range t {
		s.Log(step, line)
	}
}

func (t tee) Wait(step, what string, elapsed time.Duration) {
	for _, s := range t {
		s.Wait(step, what, elapsed)
	}
}

func (t tee) Transfer(step, what string, done, total int64) {
	for _, s := range t {
		s.Transfer(step, what, done, total)
	}
}

func (t tee) Warn(msg string) {
	for _, s := range t {
		s.Warn(msg)
	}
}

func (t tee) CleanupStarted(n int) {
	for _, s := range t {
		s.CleanupStarted(n)
	}
}

func (t tee) UndoFinished(u *journal.Undo) {
	for _, s := range t {
		s.UndoFinished(u)
	}
}

func (t tee) RunFinished(j *journal.Journal) {
	for _, s := range t {
		s.RunFinished(j)
	}
}

package event

import (
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// Tee returns a Sink that hands every event to each of sinks, in order:
// the console and a test's recorder, or (later) trace spans.
func Tee(sinks ...Sink) Sink { return tee(sinks) }

type tee []Sink

func (t tee) each(f func(Sink)) {
	for _, s := range t {
		f(s)
	}
}

func (t tee) RunStarted(j *journal.Journal, n int) { t.each(func(s Sink) { s.RunStarted(j, n) }) }
func (t tee) StepStarted(st *journal.Step)         { t.each(func(s Sink) { s.StepStarted(st) }) }
func (t tee) StepFinished(st *journal.Step)        { t.each(func(s Sink) { s.StepFinished(st) }) }
func (t tee) Log(step, line string)                { t.each(func(s Sink) { s.Log(step, line) }) }
func (t tee) Wait(step, what string, elapsed time.Duration) {
	t.each(func(s Sink) { s.Wait(step, what, elapsed) })
}
func (t tee) Transfer(step, what string, done, total int64) {
	t.each(func(s Sink) { s.Transfer(step, what, done, total) })
}
func (t tee) Warn(msg string)                { t.each(func(s Sink) { s.Warn(msg) }) }
func (t tee) CleanupStarted(n int)           { t.each(func(s Sink) { s.CleanupStarted(n) }) }
func (t tee) UndoFinished(u *journal.Undo)   { t.each(func(s Sink) { s.UndoFinished(u) }) }
func (t tee) RunFinished(j *journal.Journal) { t.each(func(s Sink) { s.RunFinished(j) }) }

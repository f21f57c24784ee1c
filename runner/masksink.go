package runner

import (
	"time"

	"github.com/scnlabs/scn/internal/event"
)

// maskingSink masks secrets in the free text of events before any sink
// (the console) sees them. Journal parts are masked where they are made.
type maskingSink struct {
	event.Sink
	m Masker
}

func (s maskingSink) Log(step, line string) { s.Sink.Log(step, s.m.String(line)) }
func (s maskingSink) Wait(step, what string, d time.Duration) {
	s.Sink.Wait(step, s.m.String(what), d)
}
func (s maskingSink) Transfer(step, what string, done, total int64) {
	s.Sink.Transfer(step, s.m.String(what), done, total)
}
func (s maskingSink) Warn(msg string) { s.Sink.Warn(s.m.String(msg)) }

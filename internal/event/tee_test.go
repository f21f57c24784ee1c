package event

import (
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// counter counts the events it sees.
type counter struct{ n int }

func (c *counter) RunStarted(*journal.Journal, int)      { c.n++ }
func (c *counter) StepStarted(*journal.Step)             { c.n++ }
func (c *counter) StepFinished(*journal.Step)            { c.n++ }
func (c *counter) Log(string, string)                    { c.n++ }
func (c *counter) Wait(string, string, time.Duration)    { c.n++ }
func (c *counter) Transfer(string, string, int64, int64) { c.n++ }
func (c *counter) Warn(string)                           { c.n++ }
func (c *counter) CleanupStarted(int)                    { c.n++ }
func (c *counter) UndoFinished(*journal.Undo)            { c.n++ }
func (c *counter) RunFinished(*journal.Journal)          { c.n++ }

func TestTeeHandsEveryEventToEverySink(t *testing.T) {
	a, b := &counter{}, &counter{}
	s := Tee(a, b)
	s.RunStarted(&journal.Journal{}, 1)
	s.StepStarted(&journal.Step{})
	s.StepFinished(&journal.Step{})
	s.Log("s", "l")
	s.Wait("s", "w", time.Second)
	s.Transfer("s", "t", 1, 2)
	s.Warn("w")
	s.CleanupStarted(1)
	s.UndoFinished(&journal.Undo{})
	s.RunFinished(&journal.Journal{})
	if a.n != 10 || b.n != 10 {
		t.Errorf("sinks saw %d and %d of 10 events", a.n, b.n)
	}
}

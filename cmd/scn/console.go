package main

import (
	"fmt"
	"os"
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// plainConsole is a minimal console until the report package's lands.
type plainConsole struct{ n int }

func newConsole(g *globals) *plainConsole { return &plainConsole{} }

func (c *plainConsole) RunStarted(j *journal.Journal, steps int) {
	c.n = steps
	fmt.Printf("scn run %s  (%s, target %s, run %s)\n", j.File, j.Scenario, j.Target, j.RunID)
}
func (c *plainConsole) StepStarted(s *journal.Step) {}
func (c *plainConsole) StepFinished(s *journal.Step) {
	fmt.Printf("[%d/%d] %-12s %-40s %s %.1fs", s.Index, c.n, s.ID, s.Name, s.Status, s.Seconds)
	if s.Error != "" {
		fmt.Printf("\n      %s", s.Error)
	}
	if s.SkipReason != "" {
		fmt.Printf(" (%s)", s.SkipReason)
	}
	fmt.Println()
}
func (c *plainConsole) Log(step, line string)                         { fmt.Printf("      %s\n", line) }
func (c *plainConsole) Wait(step, what string, elapsed time.Duration) {}
func (c *plainConsole) Transfer(step, what string, done, total int64) {}
func (c *plainConsole) Warn(msg string)                               { fmt.Fprintln(os.Stderr, "warning:", msg) }
func (c *plainConsole) CleanupStarted(n int)                          { fmt.Printf("cleanup: %d\n", n) }
func (c *plainConsole) UndoFinished(u *journal.Undo) {
	fmt.Printf("  %s: %s %s\n", u.Description, u.Status, u.Error)
}
func (c *plainConsole) RunFinished(j *journal.Journal) {
	fmt.Printf("%s in %.1fs %s\n", j.Status, j.Seconds, j.Error)
}

// newDoConsole is the console of scn do: stderr only, stdout carries JSON.
func newDoConsole(g *globals) *plainConsole { return &plainConsole{} }

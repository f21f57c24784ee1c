package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/runner"
)

// interruptible cancels ctx on the first SIGINT/SIGTERM (every run stops
// its current step and cleans up); a second signal says what is still
// alive and how to clean it, and exits at once with 130 (SIGINT) or 143.
func interruptible(ctx context.Context, runs []*runner.Runner, led *ledger.Ledger) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var once sync.Once
	done := make(chan struct{})
	go func() {
		var first os.Signal
		for {
			select {
			case <-done:
				return
			case s := <-sigs:
				if first == nil {
					first = s
					fmt.Fprintf(os.Stderr, "\n%s received: stopping the current step and cleaning up (send it again to exit at once)\n", s)
					cancel(&runner.Interrupted{Signal: s})
					continue
				}
				fmt.Fprintln(os.Stderr, "\nexiting before the cleanup finished.")
				writeAlive(os.Stderr, runs, led)
				code := 130
				if first == syscall.SIGTERM {
					code = 143
				}
				os.Exit(code)
			}
		}
	}()
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel(nil)
		})
	}
}

// writeAlive lists, per run, what is left if scn exits now: the resources
// the run holds, and those whose creation was asked for and not yet
// answered (only the ledger knows them: they may exist).
func writeAlive(w io.Writer, runs []*runner.Runner, led *ledger.Ledger) {
	for _, r := range runs {
		n := 0
		for _, res := range r.Alive() {
			fmt.Fprintf(w, "  still alive: %s %s (%s) from step %s\n", res.Kind, res.ID, res.Provider, res.Step)
			n++
		}
		if led != nil {
			open, _ := led.Leftovers(ledger.Filter{Run: r.RunID()})
			for _, rec := range open {
				if rec.ID == "" {
					fmt.Fprintf(w, "  being created: %s %s (%s) from step %s: it may exist\n", rec.Kind, rec.Label, rec.Provider, rec.Step)
					n++
				}
			}
		}
		if n > 0 {
			fmt.Fprintf(w, "  clean up with: scn cleanup --run %s\n", r.RunID())
		}
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/runner"
)

// interruptible cancels ctx on the first SIGINT/SIGTERM (every run stops
// its current step and cleans up); a second signal says what the
// session's runs still hold and how to clean it, and exits at once with
// 130 (SIGINT) or 143.
func interruptible(ctx context.Context, s *session.Session) (context.Context, func()) {
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
			case sig := <-sigs:
				if first == nil {
					first = sig
					fmt.Fprintf(os.Stderr, "\n%s received: stopping the current step and cleaning up (send it again to exit at once)\n", sig)
					cancel(&runner.Interrupted{Signal: sig})
					continue
				}
				fmt.Fprintln(os.Stderr, "\nexiting before the cleanup finished.")
				s.WriteAlive(os.Stderr)
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

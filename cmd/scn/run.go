package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/runner"
)

type runFlags struct {
	vars    []string
	maxCost float64
	yes     bool
	out     string
	junit   string
	json    string
	html    string
}

func newRunCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run FILE...",
		Short: "Run scenarios: exit 0 pass, 1 fail, 2 bad input, 130/143 interrupted",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScenarios(cmd.Context(), g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.vars, "var", nil, "set a scenario var: --var gpu=RTX_4090 (repeatable)")
	fl.Float64Var(&f.maxCost, "max-cost", 0, "stop (and clean up) when the run's cost passes this many USD")
	fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask before spending money on a paid target")
	fl.StringVar(&f.out, "out", "", "directory for the run's files (default STATE-DIR/runs/RUN-ID)")
	fl.StringVar(&f.junit, "junit", "", "also write a JUnit XML report to this file")
	fl.StringVar(&f.json, "json", "", "also write the journal as JSON to this file (- for stdout)")
	fl.StringVar(&f.html, "html", "", "also write a self-contained HTML report to this file")
	return cmd
}

func parseVars(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, exitWith(2, "--var %q: write --var name=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func runScenarios(ctx context.Context, g *globals, f *runFlags, files []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	vars, err := parseVars(f.vars)
	if err != nil {
		return err
	}
	scs, err := loadAll(files)
	if err != nil {
		return err
	}
	s := newSession(g, os.Stdout)
	defer s.close()
	tgt, err := openTarget(ctx, g)
	if err != nil {
		return exitWith(2, "target %s: %v", g.target, err)
	}
	defer tgt.Close()
	s.mask.Add(tgt.Secrets...)
	led, err := ledger.Open(g.absState(), ledger.WithMask(s.mask.String))
	if err != nil {
		return exitWith(2, "opening the resource ledger: %v", err)
	}
	defer led.Close()
	warnLeftovers(s, led)
	// Prepare every run first: a bad --var fails before anything runs.
	var runs []*runner.Runner
	for _, sc := range scs {
		r, err := runner.New(sc, runner.Options{Registry: builtin.Registry(), Target: tgt, Vars: vars,
			Sink: s.console, Masker: s.mask, Ledger: resource.OnLedger(led), MaxCost: f.maxCost})
		if err != nil {
			fmt.Fprintln(os.Stderr, s.mask.String(err.Error()))
			return exitWith(2, "nothing was run")
		}
		runs = append(runs, r)
	}
	if err := confirmSpend(g, f, tgt, scs, vars); err != nil {
		return err
	}
	ctx, stop := interruptible(ctx, runs)
	defer stop()
	worst := 0
	var journals []*journal.Journal
	var dirs []string
	for _, r := range runs {
		if ctx.Err() != nil {
			break
		}
		j := r.Run(ctx)
		journals = append(journals, j)
		dir := runDir(g, f, j, len(runs) > 1)
		dirs = append(dirs, dir)
		if err := writeRunFiles(s, dir, j); err != nil {
			fmt.Fprintln(os.Stderr, "scn: writing the run's files:", err)
			worst = max(worst, 1)
		}
		worst = max(worst, j.ExitCode)
	}
	if err := writeReports(s, f, journals, dirs); err != nil {
		fmt.Fprintln(os.Stderr, "scn: writing reports:", err)
		worst = max(worst, 1)
	}
	if worst != 0 {
		return &exitError{code: worst}
	}
	return nil
}

// warnLeftovers says when earlier runs left resources alive.
func warnLeftovers(s *session, led *ledger.Ledger) {
	left, err := led.Leftovers(ledger.Filter{})
	if err != nil {
		s.console.Warn("cannot read the ledger: " + err.Error())
		return
	}
	if len(left) == 0 {
		return
	}
	runs := map[string]bool{}
	for _, r := range left {
		runs[r.Run] = true
	}
	s.console.Warn(fmt.Sprintf("%d resources from %d earlier runs may still be alive (and billing): see `scn cleanup --dry-run`, remove them with `scn cleanup`", len(left), len(runs)))
}

// interruptible cancels ctx on the first SIGINT/SIGTERM (the runs stop
// their current step and clean up); a second signal says what is still
// alive and how to clean it, and exits at once.
func interruptible(ctx context.Context, runs []*runner.Runner) (context.Context, func()) {
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
				for _, r := range runs {
					alive := r.Alive()
					for _, res := range alive {
						fmt.Fprintf(os.Stderr, "  still alive: %s %s (%s) from step %s\n", res.Kind, res.ID, res.Provider, res.Step)
					}
					if len(alive) > 0 {
						fmt.Fprintf(os.Stderr, "  clean up with: scn cleanup --run %s\n", r.RunID())
					}
				}
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

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
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

	parallel int
	shard    string
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
	fl.IntVarP(&f.parallel, "parallel", "p", 1, "run up to this many scenarios at once, each on its own (see docs/runs.md)")
	fl.StringVar(&f.shard, "shard", "", "run only part i of n of the files, e.g. 2/3 for CI matrices (see docs/runs.md)")
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
	vars, err := parseVars(f.vars)
	if err != nil {
		return err
	}
	if f.parallel < 1 {
		return exitWith(2, "--parallel %d: run at least 1 scenario at a time", f.parallel)
	}
	if f.shard != "" {
		sh, err := parseShard(f.shard)
		if err != nil {
			return err
		}
		given := len(files)
		if files = sh.pick(files); len(files) == 0 {
			fmt.Fprintf(os.Stderr, "shard %s: no scenario for this shard among the %d files given: nothing to run\n", f.shard, given)
			return nil
		}
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
	warnLeftovers(s, led, g.absState())
	// Prepare every run first: a bad --var fails before anything runs.
	jobs, runs, err := prepareJobs(g, f, s, scs, tgt, led, vars)
	if err != nil {
		return err
	}
	if err := confirmSpend(ctx, g, f, tgt, scs, vars); err != nil {
		return err
	}
	ctx, stop := interruptible(ctx, runs, led)
	defer stop()
	state := g.absState()
	runJobs(ctx, jobs, f.parallel, func(jb *job) {
		release, err := ledger.LockRun(state, jb.r.RunID())
		if err != nil {
			s.console.Warn(err.Error() + ": scn cleanup may take this run for a crashed one")
			release = func() {}
		}
		jb.j = jb.r.Run(ctx)
		release()
		if jb.out != nil {
			jb.out.Flush()
		}
		jb.dir = runDir(g, f, jb.j, len(jobs) > 1)
		jb.err = report.WriteRunFiles(jb.dir, jb.j, s.mask)
	})
	worst := 0
	var journals []*journal.Journal
	var dirs []string
	for _, jb := range jobs {
		if jb.j == nil {
			continue
		}
		journals = append(journals, jb.j)
		dirs = append(dirs, jb.dir)
		if jb.err != nil {
			fmt.Fprintln(os.Stderr, "scn: writing the run's files:", jb.err)
			worst = max(worst, 1)
		}
		worst = max(worst, jb.j.ExitCode)
	}
	if err := writeReports(s, f, journals, dirs); err != nil {
		fmt.Fprintln(os.Stderr, "scn: writing reports:", err)
		worst = max(worst, 1)
	}
	if len(jobs) > 1 {
		writeCombined(s.out, jobs)
	}
	var intr *runner.Interrupted
	if errors.As(context.Cause(ctx), &intr) && worst < 130 {
		worst = 130 // interrupted before any run could say so
		if intr.Signal == syscall.SIGTERM {
			worst = 143
		}
	}
	if worst != 0 {
		return &exitError{code: worst}
	}
	return nil
}

// prepareJobs makes a runner per scenario, each with its own run id, and
// its own prefixed console when several run at once.
func prepareJobs(g *globals, f *runFlags, s *session, scs []*runner.Checked, tgt *target.Target, led *ledger.Ledger,
	vars map[string]string) ([]*job, []*runner.Runner, error) {
	var names []string
	for _, c := range scs {
		names = append(names, c.Scenario().Name)
	}
	pfx := prefixes(names)
	var mu sync.Mutex // one line at a time from all the runs
	ids := map[string]bool{}
	jobs := make([]*job, len(scs))
	runs := make([]*runner.Runner, len(scs))
	for i, c := range scs {
		jb := &job{name: c.Scenario().Name}
		var sink event.Sink = s.console
		if f.parallel > 1 && len(scs) > 1 {
			jb.out = &prefixWriter{mu: &mu, w: s.out, prefix: pfx[i]}
			opts := consoleOptions(g, os.Stdout)
			opts.Interactive = false // a spinner would be broken by the other runs' lines
			sink = parallelConsole{Console: report.NewConsole(jb.out, opts), w: jb.out, opts: opts}
		}
		id := runner.NewRunID()
		for ids[id] { // ids made in one second differ by 16 random bits only: never hand one out twice
			id = runner.NewRunID()
		}
		ids[id] = true
		r, err := runner.New(c, runner.Options{Target: tgt, Vars: vars, RunID: id,
			Sink: sink, Masker: s.mask, Ledger: resource.OnLedger(led), MaxCost: f.maxCost})
		if err != nil {
			fmt.Fprintln(os.Stderr, s.mask.String(err.Error()))
			return nil, nil, exitWith(2, "nothing was run")
		}
		jb.r, jobs[i], runs[i] = r, jb, r
	}
	return jobs, runs, nil
}

// warnLeftovers says when earlier runs left resources alive; runs still
// in progress in another terminal are not earlier runs.
func warnLeftovers(s *session, led *ledger.Ledger, state string) {
	left, err := led.Leftovers(ledger.Filter{})
	if err != nil {
		s.console.Warn("cannot read the ledger: " + err.Error())
		return
	}
	runs := map[string]bool{} // run id → in progress
	n, dead := 0, 0
	for _, r := range left {
		live, seen := runs[r.Run]
		if !seen {
			_, live = ledger.RunLive(state, r.Run)
			runs[r.Run] = live
			if !live {
				dead++
			}
		}
		if !live {
			n++
		}
	}
	if n == 0 {
		return
	}
	s.console.Warn(fmt.Sprintf("%s from %s may still be alive (and billing): see `scn cleanup --dry-run`, remove them with `scn cleanup`",
		count(n, "resource"), count(dead, "earlier run")))
}

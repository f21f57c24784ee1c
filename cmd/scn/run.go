package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/internal/telemetry"
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
	notify   notifyFlags
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
	f.notify.register(cmd)
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
	hooks, err := f.notify.webhooks()
	if err != nil {
		return err
	}
	scs, err := loadAll(files)
	if err != nil {
		return err
	}
	tgt, err := openTarget(ctx, g)
	if err != nil {
		return exitWith(2, "target %s: %v", g.target, err)
	}
	defer tgt.Close()
	var tel *telemetry.Exporter // started once the session's masker exists
	s, err := session.New(session.Options{Target: tgt, Vars: vars, MaxCost: f.maxCost, Parallel: f.parallel,
		Out: os.Stdout, Console: consoleOptions(g, os.Stdout),
		RunDir:  func(id string) string { return runDir(g, f, id, len(scs) > 1) },
		RunSink: func(id string) event.Sink { return runTrace(tel, id) }})
	if err != nil {
		return exitWith(2, "%v", err)
	}
	defer s.Close()
	tel = startTelemetry(ctx, s)
	s.Mask().Add(hooks...) // a webhook URL carries its token: never shown
	warnLeftovers(s)
	// Prepare every run first: a bad --var fails before anything runs.
	runs, err := s.Prepare(scs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitWith(2, "nothing was run")
	}
	if err := confirmSpend(ctx, g, f, tgt, scs, vars); err != nil {
		return err
	}
	ctx, stop := interruptible(ctx, s)
	defer stop()
	s.Run(ctx, runs)
	tel.Shutdown(ctx) // bounded: the trace is flushed before reports, notices and exit
	worst := 0
	var journals []*journal.Journal
	var dirs []string
	for _, r := range runs {
		if r.Journal == nil {
			continue
		}
		journals = append(journals, r.Journal)
		dirs = append(dirs, r.Dir)
		if r.FilesErr != nil {
			fmt.Fprintln(os.Stderr, "scn: writing the run's files:", r.FilesErr)
			worst = max(worst, 1)
		}
		worst = max(worst, r.Journal.ExitCode)
	}
	if err := writeReports(s.Mask(), f, journals, dirs); err != nil {
		fmt.Fprintln(os.Stderr, "scn: writing reports:", err)
		worst = max(worst, 1)
	}
	if len(runs) > 1 {
		writeCombined(s.Out(), runs)
	}
	notifyRuns(ctx, s, &f.notify, hooks, journals)
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

// warnLeftovers says when earlier runs left resources alive; runs still
// in progress in another terminal are not earlier runs.
func warnLeftovers(s *session.Session) {
	n, runs, err := s.Leftovers()
	if err != nil {
		s.Warn("cannot read the ledger: " + err.Error())
		return
	}
	if n == 0 {
		return
	}
	s.Warn(fmt.Sprintf("%s from %s may still be alive (and billing): see `scn cleanup --dry-run`, remove them with `scn cleanup`",
		count(n, "resource"), count(runs, "earlier run")))
}

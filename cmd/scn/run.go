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
	"github.com/scnlabs/scn/internal/negative"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/internal/target"
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
	negative string // --negative-control KIND|all
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
	fl.StringVar(&f.json, "json", "", "also write the journal as JSON to this file (- for stdout, the console then on stderr); several scenarios: an array")
	fl.StringVar(&f.html, "html", "", "also write a self-contained HTML report to this file; several scenarios: an index page linking FILE-stem-SCENARIO.html beside it")
	fl.IntVarP(&f.parallel, "parallel", "p", 1, "run up to this many scenarios at once, each on its own (see docs/runs.md)")
	fl.StringVar(&f.shard, "shard", "", "run only part i of n of the files, e.g. 2/3 for CI matrices (see docs/runs.md)")
	fl.StringVar(&f.negative, "negative-control", "", "inject a fault and invert the verdict: "+strings.Join(negative.Kinds, ", ")+", or all (see docs/runs.md)")
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
	if err := f.notify.check(); err != nil {
		return err
	}
	scs, err := loadAll(os.Stderr, files)
	if err != nil {
		return err
	}
	if f.negative != "" {
		return runNegativeControls(ctx, g, f, scs, vars)
	}
	tgt, err := openTarget(ctx, g)
	if err != nil {
		return exitWith(2, "target %s: %v", g.target, err)
	}
	defer tgt.Close()
	runs, mask, err := runBatch(ctx, g, f, tgt, scs, vars, nil, true)
	return withReports(err, mask, f, runs)
}

// withReports writes what --junit, --json and --html ask for over the
// runs; failing to makes a passing invocation exit 1.
func withReports(err error, mask *secret.Masker, f *runFlags, runs []*session.Run) error {
	var journals []*journal.Journal
	var dirs []string
	for _, r := range runs {
		if r.Journal != nil {
			journals, dirs = append(journals, r.Journal), append(dirs, r.Dir)
		}
	}
	if len(journals) == 0 {
		return err
	}
	if werr := writeReports(mask, f, journals, dirs); werr != nil {
		fmt.Fprintln(os.Stderr, "scn: writing reports:", werr)
		if err == nil {
			return &exitError{code: 1}
		}
	}
	return err
}

// runBatch runs the checked scenarios in one session (with fault, each
// as a negative control) and returns the runs, the session's masker for
// their reports (withReports) and the invocation's exit status as an
// error. confirm asks before spending money on a paid target, once the
// vars are known to fit.
func runBatch(ctx context.Context, g *globals, f *runFlags, tgt *target.Target, scs []*runner.Checked, vars map[string]string,
	fault runner.Fault, confirm bool) ([]*session.Run, *secret.Masker, error) {
	var tel *telemetry.Exporter // started once the session's masker exists
	// With --json -, stdout carries only the JSON: the console goes to stderr.
	console := os.Stdout
	if f.json == "-" {
		console = os.Stderr
	}
	s, err := session.New(session.Options{Target: tgt, Vars: vars, MaxCost: f.maxCost, Parallel: f.parallel,
		Out: console, Console: consoleOptions(g, console), Fault: fault,
		RunDir:  func(id string) string { return runDir(g, f, id, len(scs) > 1 || f.negative == "all") },
		RunSink: func(id string) event.Sink { return runTrace(tel, id) }})
	if err != nil {
		return nil, nil, exitWith(2, "%v", err)
	}
	defer s.Close()
	tel = startTelemetry(ctx, s)
	s.Mask().Add(f.notify.hooks...) // a webhook URL carries its token: never shown
	warnLeftovers(s)
	// Prepare every run first: a bad --var fails before anything runs.
	runs, err := s.Prepare(scs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return nil, nil, exitWith(2, "nothing was run")
	}
	if confirm {
		if err := confirmSpend(ctx, g, f, tgt, scs, vars); err != nil {
			return nil, nil, err
		}
	}
	ctx, stop := interruptible(ctx, s)
	defer stop()
	s.Run(ctx, runs)
	tel.Shutdown(ctx) // bounded: the trace is flushed before reports, notices and exit
	worst := 0
	for _, r := range runs {
		if r.Journal == nil {
			continue
		}
		if r.FilesErr != nil {
			fmt.Fprintln(os.Stderr, "scn: writing the run's files:", r.FilesErr)
			worst = max(worst, 1)
		}
		worst = max(worst, r.Journal.ExitCode)
	}
	if len(runs) > 1 {
		writeCombined(s.Out(), runs)
	}
	var journals []*journal.Journal
	for _, r := range runs {
		if r.Journal != nil {
			journals = append(journals, r.Journal)
		}
	}
	notifyRuns(ctx, s, &f.notify, journals)
	var intr *runner.Interrupted
	if errors.As(context.Cause(ctx), &intr) && worst < 130 {
		worst = 130 // interrupted before any run could say so
		if intr.Signal == syscall.SIGTERM {
			worst = 143
		}
	}
	if worst != 0 {
		return runs, s.Mask(), &exitError{code: worst}
	}
	return runs, s.Mask(), nil
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
		plural.Count(n, "resource"), plural.Count(runs, "earlier run")))
}

// Package session runs checked scenarios on a target the one way scn runs
// them. `scn run`, `scn do` and the tests that run drills all go through a
// Session, so what makes a run trustworthy is written once: the target's
// credentials and secret vars are masked in every output, every resource is
// recorded in the ledger before it is created, each run holds its liveness
// lock while it runs (so `scn cleanup` keeps its hands off), run ids never
// repeat, and each run leaves its journal, metrics and HTML report in its
// run directory. Callers keep what differs: the CLI parses flags, asks
// before spending, wires signals and prints summaries; tests add their own
// sinks, vars and deadlines.
//
// A Session takes a target the caller opened (internal/assembly builds
// them), so this package links no cloud SDK.
package session

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// Options configure a Session. Only Target is required.
type Options struct {
	// Target is what the runs drive, opened by the caller; its Secrets are
	// masked everywhere and its StateDir holds the ledger, the run locks
	// and the run directories.
	Target *target.Target
	// Vars are --var overrides, for every run of the session.
	Vars map[string]string
	// MaxCost (USD) stops a run whose cost passes it (with budget.max_usd,
	// the smaller applies); 0: no limit but the scenario's.
	MaxCost float64
	// Out is where the console shows the runs, through the masker; nil
	// shows nothing.
	Out io.Writer
	// Console says how the console looks (colour, verbosity, terminal).
	Console report.Options
	// Sink also receives every run's events, masked, from the runner's
	// goroutines (a test's hook on a step starting; later, trace spans).
	Sink event.Sink
	// RunSink, when set, gives each run a sink of its own (trace spans
	// must know which run an event belongs to). When the sink has a
	// TraceID() string method, the run's journal records that trace.
	RunSink func(runID string) event.Sink
	// Parallel is how many runs go at once (default 1). Several prepared
	// together then each print on their own console, every line
	// prefixed with the scenario's name, and only their verdict.
	Parallel int
	// RunDir is where a run writes its files; nil: STATE/runs/RUN-ID.
	RunDir func(runID string) string
	// NoRunFiles writes no run files (`scn do`: its outputs are the record).
	NoRunFiles bool
	// Fault makes the runs negative controls (scn run --negative-control);
	// a session with one runs one scenario.
	Fault runner.Fault
}

// Session runs scenarios on one target. Make one with New, Prepare the
// runs, Run them, and Close it.
type Session struct {
	opts    Options
	mask    *secret.Masker
	out     *secret.Writer  // Out through the masker; nil without Out
	console *report.Console // on out; nil without Out
	led     *ledger.Ledger
	lines   sync.Mutex // one line at a time from parallel runs

	mu   sync.Mutex
	ids  map[string]bool // run ids handed out
	runs []*Run          // every run prepared, for Alive
}

// New opens the session: the masker (with the target's secrets), the
// ledger in the target's state directory, and the console on Out.
func New(opts Options) (*Session, error) {
	if opts.Target == nil {
		return nil, errors.New("session: no target")
	}
	s := &Session{opts: opts, mask: secret.New(opts.Target.Secrets...), ids: map[string]bool{}}
	led, err := ledger.Open(opts.Target.StateDir, ledger.WithMask(s.mask.String))
	if err != nil {
		return nil, fmt.Errorf("opening the resource ledger: %w", err)
	}
	s.led = led
	if opts.Out != nil {
		s.out = s.mask.Writer(opts.Out)
		s.console = report.NewConsole(s.out, opts.Console)
	}
	return s, nil
}

// Close flushes the console and closes the ledger. Resources still open
// in the ledger stay open: that is what `scn cleanup` is for.
func (s *Session) Close() error {
	var errs []error
	if s.console != nil {
		errs = append(errs, s.console.Close(), s.out.Close())
	}
	errs = append(errs, s.led.Close())
	return errors.Join(errs...)
}

// Mask is the session's masker: the target's credentials and, once a run
// resolved them, its secret vars. Reports written after the runs go
// through it.
func (s *Session) Mask() *secret.Masker { return s.mask }

// Out is the console's output, masked, for what the caller prints around
// the runs (a combined summary); io.Discard without Out.
func (s *Session) Out() io.Writer {
	if s.out == nil {
		return io.Discard
	}
	return s.out
}

// Warn shows msg on the console, masked.
func (s *Session) Warn(msg string) {
	if s.console != nil {
		s.console.Warn(s.mask.String(msg))
	}
}

// Leftovers counts what earlier runs left open in the ledger (may still
// be alive and billing) and how many runs left it. Runs in progress in
// another process are not earlier runs: they clean up after themselves.
func (s *Session) Leftovers() (resources, runs int, err error) {
	left, err := s.led.Leftovers(ledger.Filter{})
	if err != nil {
		return 0, 0, err
	}
	live := map[string]bool{} // run id → in progress
	for _, r := range left {
		l, seen := live[r.Run]
		if !seen {
			_, l = ledger.RunLive(s.opts.Target.StateDir, r.Run)
			live[r.Run] = l
			if !l {
				runs++
			}
		}
		if !l {
			resources++
		}
	}
	return resources, runs, nil
}

// Load reads a scenario file and checks it against the built-in actions;
// every problem of the file comes back in one error, with file:line:col.
func Load(path string) (*runner.Checked, error) {
	sc, err := runner.LoadFile(path)
	if sc == nil {
		return nil, err
	}
	c, cerr := runner.Check(sc, builtin.Registry())
	if err = runner.Merge(err, cerr); err != nil {
		return nil, err
	}
	return c, nil
}

// runDir is where the run's files go.
func (s *Session) runDir(id string) string {
	if s.opts.RunDir != nil {
		return s.opts.RunDir(id)
	}
	return filepath.Join(s.opts.Target.StateDir, "runs", id)
}

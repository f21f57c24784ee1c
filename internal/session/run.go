package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/evidence"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/runner"
)

// Run is one scenario of the session: prepared (its run id given, its
// vars resolved), then run once by Session.Run, which fills in the rest.
type Run struct {
	Name    string           // the scenario's name
	Journal *journal.Journal // what happened; nil when it never started
	Dir     string           // its run directory ("" with NoRunFiles)
	// FilesErr: writing the run's files failed (the run itself may have
	// passed).
	FilesErr error
	// NotRun says why it never started (interrupted before its turn).
	NotRun string

	evidence *evidence.Recorder // keeps what a bundle needs as the run goes; nil with NoRunFiles
	r        *runner.Runner
	out      *prefixWriter // its own console's output; nil on the shared one
}

// ID is the run's id: its ledger entries, labels and directory carry it.
func (r *Run) ID() string {
	switch {
	case r.r != nil:
		return r.r.RunID()
	case r.Journal != nil: // a past run, read back for a report
		return r.Journal.RunID
	}
	return ""
}

// Prepare makes a run of each checked scenario, each with its own run id.
// A var that does not fit fails the whole batch before anything runs, with
// the error masked.
func (s *Session) Prepare(checked ...*runner.Checked) ([]*Run, error) {
	var names []string
	for _, c := range checked {
		names = append(names, c.Scenario().Name)
	}
	own := s.opts.Parallel > 1 && len(checked) > 1 // each run on its own console
	pfx := prefixes(names)
	runs := make([]*Run, len(checked))
	for i, c := range checked {
		run := &Run{Name: names[i]}
		if own && s.out != nil {
			run.out = &prefixWriter{mu: &s.lines, w: s.out, prefix: pfx[i]}
		}
		id, dir := s.newID(), ""
		if !s.opts.NoRunFiles {
			dir = s.runDir(id) // where files.create save: writes, beside the journal
			run.evidence = &evidence.Recorder{RunDir: dir, Store: s.opts.Target.Store, Mask: s.mask.String}
		}
		sink, traceID := s.sink(run, id)
		r, err := runner.New(c, runner.Options{Target: s.opts.Target, Vars: s.opts.Vars, RunID: id, Dir: dir, TraceID: traceID,
			Sink: sink, Masker: s.mask, Ledger: resource.OnLedger(s.led), MaxCost: s.opts.MaxCost, Fault: s.opts.Fault})
		if err != nil {
			return nil, s.mask.Error(err)
		}
		run.r, runs[i] = r, run
	}
	s.mu.Lock()
	s.runs = append(s.runs, runs...)
	s.mu.Unlock()
	return runs, nil
}

// sink is where a run's events go: its own console when it has its own
// output, else the session's, Options.Sink and the run's own
// Options.RunSink; traceID is the run sink's trace, if it has one.
func (s *Session) sink(run *Run, id string) (_ event.Sink, traceID string) {
	var sink event.Sink = event.Discard{}
	switch {
	case run.out != nil:
		opts := s.opts.Console
		opts.Interactive = false // a spinner would be broken by the other runs' lines
		sink = parallelConsole{Console: report.NewConsole(run.out, opts), w: run.out, opts: opts}
	case s.console != nil:
		sink = s.console
	}
	if s.opts.Sink != nil {
		sink = event.Tee(sink, s.opts.Sink)
	}
	if run.evidence != nil {
		sink = event.Tee(sink, run.evidence)
	}
	if s.opts.RunSink != nil {
		own := s.opts.RunSink(id)
		if t, ok := own.(interface{ TraceID() string }); ok {
			traceID = t.TraceID()
		}
		sink = event.Tee(sink, own)
	}
	return sink, traceID
}

// newID returns a run id not handed out before in this session: ids made
// in one second differ by 16 random bits only.
func (s *Session) newID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := runner.NewRunID()
	for s.ids[id] {
		id = runner.NewRunID()
	}
	s.ids[id] = true
	return id
}

// Run runs the prepared runs, at most Options.Parallel at once, in order
// of the list; once ctx is cancelled no new run starts. Each run holds its
// liveness lock while it runs, then writes its files to its run directory.
// Cancelling ctx (with a *runner.Interrupted cause on a signal) stops the
// current steps; finally steps and undos still run.
func (s *Session) Run(ctx context.Context, runs []*Run) {
	runAll(ctx, runs, s.opts.Parallel, func(run *Run) { s.runOne(ctx, run) })
}

// RunOne prepares and runs one checked scenario. Unlike Run it starts
// even when ctx is already cancelled, so the run always has a journal
// (one that says it was interrupted, with nothing created).
func (s *Session) RunOne(ctx context.Context, c *runner.Checked) (*Run, error) {
	runs, err := s.Prepare(c)
	if err != nil {
		return nil, err
	}
	s.runOne(ctx, runs[0])
	return runs[0], nil
}

func (s *Session) runOne(ctx context.Context, run *Run) {
	release, err := ledger.LockRun(s.opts.Target.StateDir, run.ID())
	if err != nil {
		s.Warn(err.Error() + ": scn cleanup may take this run for a crashed one")
		release = func() {}
	}
	run.Journal = run.r.Run(ctx)
	release()
	if run.out != nil {
		run.out.Flush()
	}
	if s.opts.NoRunFiles {
		return
	}
	run.Dir = s.runDir(run.ID())
	run.FilesErr = errors.Join(report.WriteRunFiles(run.Dir, run.Journal, s.mask), run.evidence.Err())
}

// runAll calls run for each run, at most n at once, in order of the list.
// Once ctx is cancelled no new run starts.
func runAll(ctx context.Context, runs []*Run, n int, run func(*Run)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for _, r := range runs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			r.NotRun = "not started: " + context.Cause(ctx).Error()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			run(r)
		}()
	}
	wg.Wait()
}

// WriteAlive lists, per run of the session, what is left if scn exits
// now (a second Ctrl+C): the resources the run holds, and those whose
// creation was asked for and not yet answered (only the ledger knows them:
// they may exist), with the command that cleans them up.
func (s *Session) WriteAlive(w io.Writer) {
	s.mu.Lock()
	runs := append([]*Run(nil), s.runs...)
	s.mu.Unlock()
	for _, run := range runs {
		n := 0
		for _, res := range run.r.Alive() {
			fmt.Fprintf(w, "  still alive: %s %s (%s) from step %s\n", res.Kind, res.ID, res.Provider, res.Step)
			n++
		}
		open, _ := s.led.Leftovers(ledger.Filter{Run: run.ID()})
		for _, rec := range open {
			if rec.ID == "" {
				fmt.Fprintf(w, "  being created: %s %s (%s) from step %s: it may exist\n", rec.Kind, rec.Label, rec.Provider, rec.Step)
				n++
			}
		}
		if n > 0 {
			fmt.Fprintf(w, "  clean up with: scn cleanup --run %s\n", run.ID())
		}
	}
}

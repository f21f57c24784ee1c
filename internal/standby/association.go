// Package standby keeps a CPU standby machine holding a near-live copy of
// a GPU instance's workspace, watches the GPU, and hands the copy over to
// a replacement when the GPU dies. An Association runs two loops in the
// background for the rest of a run: an incremental sync (list both sides
// with find, delete what vanished, send only what changed as a tar stream —
// through the store by the machines' agents when the association has them,
// otherwise through scn) and a health check (the provider's status, an SSH probe,
// and a scan of what changed on the GPU since the last sync, so the files
// a failure loses are known). After FailureThreshold consecutive failed
// checks of the GPU the association is failover_active: syncing stops and
// the standby holds the data until Restore streams it onto a new GPU,
// verifies it and re-points the association there. A standby that dies
// is reported (standby_lost), never ignored.
//
// Everything is done through remote.Execer commands (GNU find, tar, xargs
// and rm on the machines), so it runs the same against sandboxes, VAST.ai
// GPUs, Compute Engine VMs or local shells in tests; every interval is an
// option so tests run in milliseconds.
package standby

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
)

// States of an association.
const (
	Syncing        = "syncing"         // the standby follows the GPU
	FailoverActive = "failover_active" // the GPU failed; the standby holds the data
	Restored       = "restored"        // moved onto a new GPU; syncing resumes at the next cycle
	StandbyLost    = "standby_lost"    // the standby itself died or became unreachable
)

// Defaults of Options.
const (
	DefaultSyncInterval     = 30 * time.Second
	DefaultCheckInterval    = 10 * time.Second
	DefaultCheckTimeout     = 20 * time.Second
	DefaultFailureThreshold = 3
)

// ErrStopped is returned by operations on an association after Stop.
var ErrStopped = errors.New("the standby association was stopped")

// Machine is one end of an association.
type Machine struct {
	Instance *cloud.Instance
	Dir      string // absolute workspace path on the machine
	// Provider answers status reads (Get); nil skips them.
	Provider cloud.Provider
	// Connect returns a command runner on the machine (Env.Connect).
	Connect func(ctx context.Context, inst *cloud.Instance) (remote.Execer, error)
	// Probe checks the machine answers SSH on a fresh connection
	// (Env.Probe); nil: the check's own command on the machine is the probe.
	Probe func(ctx context.Context, inst *cloud.Instance) error
}

func (m Machine) check() error {
	switch {
	case m.Instance == nil || m.Instance.ID == "":
		return errors.New("no instance")
	case m.Connect == nil:
		return fmt.Errorf("no way to reach instance %s", m.Instance.ID)
	case !path.IsAbs(m.Dir):
		return fmt.Errorf("workspace %q of instance %s is not an absolute path", m.Dir, m.Instance.ID)
	case path.Clean(m.Dir) == "/":
		return fmt.Errorf("workspace of instance %s is the whole filesystem (/): give a folder", m.Instance.ID)
	}
	return nil
}

// Options tune an association. Zero values take the defaults.
type Options struct {
	SyncInterval  time.Duration
	CheckInterval time.Duration
	// CheckTimeout bounds the checks of one machine in one round (a
	// machine that stopped answering must not stall detection).
	CheckTimeout     time.Duration
	FailureThreshold int
	// Exclude lists find patterns left out of the sync: a bare name
	// matches at any depth (-name), a pattern with a slash is anchored at
	// the workspace (-path). nil means DefaultExclude; empty means none.
	Exclude []string
	// Log receives notable events (failures, state changes) as they happen.
	Log func(line string)
	// Progress, when set, is told the bytes streamed by Start's first sync.
	Progress func(bytes int64)
	// Agent and Store, when both set, take scn out of the path: each
	// cycle's increment goes from the GPU's agent through the store to the
	// standby's agent (snapshot.Relay). Otherwise, or when an agent cannot
	// run or reach the store, it streams through scn over SSH. What a
	// relay may leave in the store (snapshot.RelayPrefix: an upload whose
	// abort failed, versions of a delete that failed) is the caller's to
	// remove once syncing has stopped, with snapshot.DeleteRelay: the
	// caller holds the undo stack and the ledger that survive a failure.
	Agent *agentctl.Launcher
	Store store.Store
	// Moved, when set, returns what hears the bytes crossing an
	// instance's own network link in every copy, as they cross
	// (snapshot.CreateOptions.Moved): the first sync, background and
	// forced ones, a planned move's last sync and a failover's copy,
	// failed ones too. A provider may bill them (VAST's bandwidth).
	// actions.Env.Moved fits it.
	Moved func(instance string) func(sent, received int64)

	// SyncTicks and CheckTicks, when set, replace the interval tickers:
	// each value received starts one cycle. Tests drive the loops with them.
	SyncTicks, CheckTicks <-chan time.Time
	// OnSync and OnCheck, when set, are told about every background sync
	// and health round as it ends, from the loop's goroutine.
	OnSync  func(Cycle)
	OnCheck func(Health)
}

func (o *Options) defaults() error {
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = DefaultCheckInterval
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = DefaultCheckTimeout
	}
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = DefaultFailureThreshold
	}
	if o.Exclude == nil {
		o.Exclude = DefaultExclude
	}
	return CheckExclude(o.Exclude)
}

// Cycle is one sync.
type Cycle struct {
	At    time.Time // when it started
	GPU   string    // instance synced from
	Files int       // entries sent (files, folders, links)
	Bytes int64     // bytes of the tar stream
	// Via says how they went (ViaAgent, ViaSCN; "" when nothing changed)
	// and SCNBytes how many passed through scn's process.
	Via      string
	SCNBytes int64
	Deleted  int // paths removed on the standby
	// Listed is the size of the GPU's listing, which it sends to scn every
	// cycle to find what changed: on its bill with Bytes (Options.Moved).
	Listed  int64
	Seconds float64
	Error   string // why it failed; "" on success
}

// MBPerSec is the stream's rate in MB (10^6 bytes) per second.
func (c Cycle) MBPerSec() float64 {
	if c.Seconds <= 0 {
		return 0
	}
	return float64(c.Bytes) / 1e6 / c.Seconds
}

// Association keeps a standby in sync with a GPU. Safe for concurrent use.
type Association struct {
	opts Options
	sb   Machine

	syncMu       sync.Mutex // one sync or restore at a time
	fallbackSaid string     // why the last cycle streamed through scn (syncMu held)
	ctx          context.Context
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	done         chan struct{} // closed when the loops have returned
	stop         sync.Once

	checkNow chan struct{} // a failed sync asks for a health round at once
	// first is Start's full sync, set before the loops start and never
	// after: what a background sync since changed is not its figures.
	first Cycle

	mu          sync.Mutex
	gpu         Machine
	gen         int // bumped when the association moves to a new GPU
	state       string
	problem     string // why it is not syncing, or the last sync error
	stopped     bool
	cycleCancel context.CancelFunc // cancels the background sync in flight

	syncCount  int
	lastCycle  Cycle     // last successful sync
	lastSyncAt time.Time // when its listing of the GPU began (scn's clock)
	synced     snapshot  // the GPU as the last successful sync saw it
	copyFiles  int       // regular files the standby holds
	copyBytes  int64

	checks         int
	gpuFails       int
	standbyFails   int
	aliveAt        time.Time // GPU last seen alive (check or sync)
	firstFailureAt time.Time
	lostAt         time.Time // the GPU's failure as the platform timed it (GPULost); zero: unknown
	detectedAt     time.Time
	detection      time.Duration // detectedAt − the failure (lostAt, else aliveAt) at the time
	atRisk         time.Duration // the failure (lostAt, else firstFailureAt) − lastSyncAt at the time
	restoredAt     time.Time
	mttr           time.Duration
	changed        Listing // GPU entries modified since synced.Clock, per the last good check
	lost           []string

	events  []string // not yet taken by TakeEvents
	dropped int      // events not kept since the last TakeEvents
}

// Start makes the standby's workspace, runs a first full sync (so the
// standby holds the data when Start returns) and starts the loops. The
// loops run until Stop, independently of ctx, which bounds only the
// first sync.
func Start(ctx context.Context, gpu, standby Machine, o Options) (*Association, error) {
	if err := gpu.check(); err != nil {
		return nil, fmt.Errorf("GPU side: %w", err)
	}
	if err := standby.check(); err != nil {
		return nil, fmt.Errorf("standby side: %w", err)
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	a := &Association{opts: o, sb: standby, gpu: gpu, state: Syncing, done: make(chan struct{}),
		checkNow: make(chan struct{}, 1), aliveAt: time.Now()}
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.syncMu.Lock()
	first, err := a.cycle(ctx, o.Progress)
	a.syncMu.Unlock()
	a.first = first
	if err != nil {
		a.cancel()
		close(a.done)
		return nil, fmt.Errorf("first sync of %s from GPU %s to standby %s: %w", gpu.Dir, gpu.Instance.ID, standby.Instance.ID, err)
	}
	a.wg.Add(2)
	go a.loop(o.SyncTicks, o.SyncInterval, nil, a.syncRound)
	go a.loop(o.CheckTicks, o.CheckInterval, a.checkNow, a.checkRoundReport)
	go func() { a.wg.Wait(); close(a.done) }()
	return a, nil
}

// FirstSync is Start's full sync, whatever the loops did since: Status's
// LastSync may already be a background sync's.
func (a *Association) FirstSync() Cycle { return a.first }

// Stop ends the loops and waits for them, at most until ctx ends. It is
// idempotent; a sync in flight is cancelled. Sync and Restore fail after it.
func (a *Association) Stop(ctx context.Context) error {
	a.stop.Do(func() {
		a.mu.Lock()
		a.stopped = true
		a.mu.Unlock()
		a.cancel()
	})
	select {
	case <-a.done:
	case <-ctx.Done():
		return fmt.Errorf("stopping the standby %s loops: still running: %w", a.sb.Instance.ID, ctx.Err())
	}
	return nil
}

// StandbyID is the standby instance's id.
func (a *Association) StandbyID() string { return a.sb.Instance.ID }

// Standby is the standby machine.
func (a *Association) Standby() Machine { return a.sb }

// GPU is the machine the association currently follows.
func (a *Association) GPU() Machine {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gpu
}

// State is the association's state.
func (a *Association) State() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// ticker returns the ticks of a loop: the test's channel or a real ticker.
func ticker(given <-chan time.Time, every time.Duration) (<-chan time.Time, func()) {
	if given != nil {
		return given, func() {}
	}
	t := time.NewTicker(every)
	return t.C, t.Stop
}

// loop runs round at every tick (or wake-up) until the association stops.
func (a *Association) loop(given <-chan time.Time, every time.Duration, wake <-chan struct{}, round func()) {
	defer a.wg.Done()
	ticks, stop := ticker(given, every)
	defer stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-ticks:
		case <-wake:
		}
		round()
	}
}

// syncRound is one turn of the sync loop.
func (a *Association) syncRound() {
	c, err, ran := a.backgroundSync()
	if !ran {
		return
	}
	if err != nil {
		select { // a health round tells a dead GPU from a dead standby
		case a.checkNow <- struct{}{}:
		default:
		}
	}
	if a.opts.OnSync != nil {
		a.opts.OnSync(c)
	}
}

// checkRoundReport is one turn of the health loop.
func (a *Association) checkRoundReport() {
	h := a.checkRound()
	if a.opts.OnCheck != nil {
		a.opts.OnCheck(h)
	}
}

// logf records a notable event and passes it to Options.Log.
func (a *Association) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	a.record(line)
	if a.opts.Log != nil {
		a.opts.Log(line)
	}
}

// record keeps an event for TakeEvents only.
func (a *Association) record(line string) {
	a.mu.Lock()
	if len(a.events) < maxEvents {
		a.events = append(a.events, line)
	} else {
		a.dropped++
	}
	a.mu.Unlock()
}

// maxEvents bounds the events kept between two TakeEvents.
const maxEvents = 100

// TakeEvents returns the notable events since the previous call (the
// first maxEvents, then a count of the rest), so standby.status can show
// what happened in between.
func (a *Association) TakeEvents() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.events
	if a.dropped > 0 {
		out = append(out, fmt.Sprintf("… and %d more events", a.dropped))
	}
	a.events, a.dropped = nil, 0
	return out
}

// pendingLocked lists the GPU's regular files changed or created since
// the last successful sync, as the last good check saw them, sorted.
func (a *Association) pendingLocked() []string {
	var out []string
	for name, e := range a.changed {
		s, ok := a.synced.Entries[name]
		if e.Type == 'f' && (!ok || s.Type != 'f' || s.Size != e.Size || s.MTime != e.MTime || s.Mode != e.Mode) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

package scenarios_test

// The drills under the local target's faults (docs/targets.md): every drill
// × every fault, each run on its own target whose scn.yaml sets the fault.
// A run must pass, or fail with the message that fault deserves; either
// way it must end with nothing alive (runOn checks: no sandbox, no open
// ledger entry, no snapshot in the store) — except what a failing store
// kept the cleanup from deleting, which the run must report and leave in
// the ledger for `scn cleanup` (storeLeftoversAccounted).

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/store"
)

// faultDrills are the drills run under every fault, with the vars of their
// `# scn-test: var` headers. Preemption cases hold a drill right after its
// first files.create step (drill.afterFiles).
var faultDrills = []faultDrill{
	{file: "realtime-sync.yaml", transfer: "snapshot.create", raw: "bytes_stream", secs: "seconds", store: true},
	{file: "manual-ssh.yaml", transfer: "snapshot.create", raw: "bytes_stream", secs: "seconds", store: true},
	{file: "cpu-standby.yaml", transfer: "standby.create", raw: "sync_bytes", secs: "sync_seconds"},
}

// faultDrill says how a drill moves its workspace: the action whose step
// streams it first (and its outputs for bytes and seconds), and whether it
// goes through the store (store faults apply only then).
type faultDrill struct {
	file, transfer, raw, secs string
	store                     bool
}

// faultRunTimeout bounds one faulty run, cleanup included: a run that needs
// longer is hanging on the fault, which is itself a failure.
const faultRunTimeout = 90 * time.Second

// A faultCase is one fault to play on every drill.
type faultCase struct {
	name   string
	faults string             // the local target's faults, as in scn.yaml
	edit   func(*drill) error // how the drill meets the fault; nil runs it as written
	check  func(t *testing.T, o *outcome)
	store  bool // a store fault: only for drills that use the store
}

// The parameters keep each run to a few seconds, yet make sure the fault is
// met and shows: a sandbox answers SSH about 0.4s after it is asked for, so
// delays of over a second stand out; local polls readiness every 100ms, so
// a 1s refusal fails several probes; preemption comes 5s after boot, well
// after the drill has written its files (about 1.5s, more on a loaded
// machine), and the drill waits for it (hold) rather than racing it.
const (
	bootDelay    = 1200 * time.Millisecond
	refuseSSHFor = 1 * time.Second
	preemptAfter = 5 * time.Second
	// linkRate paces a drill whose workspace got fillWorkspace's 384 kB
	// (which LZ4 cannot shrink) to about 0.75s per transfer, whether it
	// streams through scn or scn's agent sends it to the store; copying
	// the agent (3 MB gzipped) onto each machine first takes about 6s.
	linkRate = 512 << 10
)

var faultCases = []faultCase{
	{name: "boot_delay", faults: fmt.Sprintf("boot_delay: %s", bootDelay), check: readyLate(bootDelay, "loading")},
	{name: "refuse_ssh_for", faults: fmt.Sprintf("refuse_ssh_for: %s", refuseSSHFor), check: readyLate(refuseSSHFor, "SSH not answering")},
	{
		// The instance dies between two steps: the drill waits until the
		// provider reports it exited, then the next step needs it.
		name:   "preempt_between_steps",
		faults: fmt.Sprintf("preempt_after: %s", preemptAfter),
		edit:   func(d *drill) error { return d.afterFiles(holdUntilExited) },
		check: func(t *testing.T, o *outcome) {
			o.mustFailAfterHold(t, true, regexp.MustCompile(`instance l-[0-9a-f]+ is exited, not running`))
		},
	},
	{
		// The instance dies while a command runs on it: the command's step
		// fails at once (not after its 60s) saying the connection was lost.
		name:   "preempt_during_command",
		faults: fmt.Sprintf("preempt_after: %s", preemptAfter),
		edit:   func(d *drill) error { return d.afterFiles(holdCommand) },
		check: func(t *testing.T, o *outcome) {
			o.mustFailAfterHold(t, false, regexp.MustCompile(`on instance l-[0-9a-f]+: .*connection lost`))
		},
	},
	{
		// The instance dies while its workspace streams to the store over
		// a slow link (384 kB at 48 kB/s: 8s, from about 1.5s after boot;
		// with scn's agent, while the agent is still being copied there):
		// the snapshot fails and no half snapshot is left.
		name:   "preempt_during_snapshot",
		faults: fmt.Sprintf("preempt_after: %s, link_bytes_per_sec: %d", preemptAfter, 48<<10),
		edit:   func(d *drill) error { return d.afterFiles(fillWorkspace) },
		check: func(t *testing.T, o *outcome) {
			o.mustFailIn(t, o.drill.transfer, regexp.MustCompile(`connection lost`))
		},
	},
	{
		// Every 7th store request fails and the snapshot steps retry:
		// each gets over its failure. (TestDrillsUnderStoreFaults plays
		// store failures without retries.)
		name:   "store_fail_every_7_retried",
		store:  true,
		faults: "store_fail_every: 7",
		edit:   func(d *drill) error { return d.retry("snapshot.", 4) },
		check: func(t *testing.T, o *outcome) {
			if f := o.firstFailed(); f != nil {
				t.Fatalf("step %s failed despite its retries: %s", f.ID, f.Error)
			}
			o.someStepRetried(t, "snapshot.")
			o.storeLeftoversAccounted(t)
		},
	},
	{
		name:   "link_bytes_per_sec",
		faults: fmt.Sprintf("link_bytes_per_sec: %d", linkRate),
		edit:   func(d *drill) error { return d.afterFiles(fillWorkspace) },
		check: func(t *testing.T, o *outcome) {
			o.mustPass(t)
			o.transfersPaced(t, linkRate)
		},
	},
}

// readyLate checks a drill whose instances are slow to answer SSH: it
// passes, no instance was ready before delay, and the console said why it
// waited (note).
func readyLate(delay time.Duration, note string) func(*testing.T, *outcome) {
	return func(t *testing.T, o *outcome) {
		o.mustPass(t)
		o.readyNotBefore(t, delay)
		o.sawWait(t, note)
	}
}

func TestDrillsUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every drill under every fault")
	}
	for _, fd := range faultDrills {
		file := fd.file
		for _, fc := range faultCases {
			if fc.store && !fd.store {
				continue // the drill never touches the store
			}
			t.Run(strings.TrimSuffix(file, ".yaml")+"/"+fc.name, func(t *testing.T) {
				t.Parallel()
				path := file
				if fc.edit != nil {
					d := loadDrill(t, file)
					if err := fc.edit(d); err != nil {
						t.Fatalf("%s: %v", file, err)
					}
					path = d.save(t)
				}
				fc.check(t, runFaulty(t, fd, path, fc.faults))
			})
		}
	}
}

// TestDrillsUnderStoreFaults fails store requests at each stage of every
// drill. A plain run counts the drill's store requests (R); a run with
// store_fail_every k then fails request k first: k = 1, 2, 3 (the snapshot's
// upload), R-3 (its restore), R-1 and R (its deletion by the cleanup). Any
// failed store request must fail the run, naming it.
func TestDrillsUnderStoreFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every drill with store failures at each stage")
	}
	for _, fd := range faultDrills {
		if !fd.store {
			continue
		}
		file := fd.file
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			requests := countStoreRequests(t, file)
			seen := map[int]bool{}
			for _, k := range []int{1, 2, 3, requests - 3, requests - 1, requests} {
				if k < 1 || seen[k] {
					continue
				}
				seen[k] = true
				t.Run(fmt.Sprintf("store_fail_every_%d_of_%d", k, requests), func(t *testing.T) {
					t.Parallel()
					o := runFaulty(t, fd, file, fmt.Sprintf("store_fail_every: %d", k))
					o.mustFailOnStore(t, k)
					o.storeLeftoversAccounted(t)
				})
			}
		})
	}
}

// countStoreRequests runs the drill without faults and returns how many
// requests it made to the store.
func countStoreRequests(t *testing.T, file string) int {
	t.Helper()
	tgt := openLocal(t)
	counter := &countingStore{Store: tgt.Store}
	tgt.Store = counter
	j := runOn(t, file, runOptions{vars: drillVars(t, file), target: tgt, timeout: faultRunTimeout})
	if j.Status != journal.StatusPassed {
		t.Fatalf("%s without faults: %s %s", file, j.Status, j.Error)
	}
	n := int(counter.n.Load())
	if n == 0 {
		t.Fatalf("%s made no store request: store faults would test nothing", file)
	}
	return n
}

// runFaulty runs the drill at path (file, or an edited copy of it) on a
// local target with faults, and fails the test if the run hung.
func runFaulty(t *testing.T, fd faultDrill, path, faults string) *outcome {
	file := fd.file
	t.Helper()
	tgt := openLocalWith(t, "targets:\n  local:\n    kind: local\n    faults: { "+faults+" }\n")
	rec := &recorder{}
	start := time.Now()
	j := runOn(t, path, runOptions{vars: drillVars(t, file), target: tgt, sink: rec, timeout: faultRunTimeout})
	o := &outcome{j: j, rec: rec, tgt: tgt, drill: fd}
	t.Cleanup(func() {
		if t.Failed() {
			o.dump(t)
		}
	})
	if took := time.Since(start); took >= faultRunTimeout {
		t.Fatalf("the run hung under %s: stopped by the test's %s deadline (%s)", faults, faultRunTimeout, j.Error)
	}
	return o
}

// drillVars are the --vars of the drill's `# scn-test: var` headers.
func drillVars(t *testing.T, file string) map[string]string {
	t.Helper()
	vars := readExpectation(t, file).vars
	for k, v := range vars {
		vars[k] = strings.ReplaceAll(v, "$TMP", t.TempDir())
	}
	return vars
}

// recorder keeps the wait notes a run shows on the console.
type recorder struct {
	event.Discard
	mu    sync.Mutex
	waits []string
}

func (r *recorder) Wait(step, what string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, step+": "+what)
}

func (r *recorder) notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.waits...)
}

// countingStore counts the requests made to a store.
type countingStore struct {
	store.Store
	n atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	c.n.Add(1)
	return c.Store.Put(ctx, key, r)
}

func (c *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	c.n.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Stat(ctx context.Context, key string) (store.Object, error) {
	c.n.Add(1)
	return c.Store.Stat(ctx, key)
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]store.Object, error) {
	c.n.Add(1)
	return c.Store.List(ctx, prefix)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.n.Add(1)
	return c.Store.Delete(ctx, key)
}

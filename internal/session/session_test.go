package session

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// secretKey stands for a target credential (a VAST key, a B2 secret).
const secretKey = "k3y-0f-the-target-7f9a"

func testTarget(t *testing.T) *target.Target {
	return &target.Target{Name: "t", Kind: "local", StateDir: t.TempDir(), Secrets: []string{secretKey}}
}

// check loads and checks a scenario written in the test.
func check(t *testing.T, src string) *runner.Checked {
	t.Helper()
	sc, err := runner.Load("test.yaml", []byte(src))
	var c *runner.Checked
	if err == nil {
		c, err = runner.Check(sc, builtin.Registry())
	}
	if err != nil {
		t.Fatalf("scenario does not check:\n%v", err)
	}
	return c
}

func open(t *testing.T, o Options) *Session {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The scenario prints the target's credential (as a careless action
// would): it must not reach the console, the journal or the run's files.
const leaky = `
name: leaky
vars: { key: "" }
steps:
  - { id: say, action: log, with: { message: "key is ${{ vars.key }}" } }
`

// liveHook records, as each step starts, whether the run held its
// liveness lock then.
type liveHook struct {
	event.Discard
	state string
	mu    sync.Mutex
	id    string
	live  []bool
}

func (h *liveHook) RunStarted(j *journal.Journal, _ int) {
	h.mu.Lock()
	h.id = j.RunID
	h.mu.Unlock()
}

func (h *liveHook) StepStarted(*journal.Step) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, live := ledger.RunLive(h.state, h.id)
	h.live = append(h.live, live)
}

func TestRunLocksMasksAndWritesTheRunFiles(t *testing.T) {
	tgt := testTarget(t)
	var console bytes.Buffer
	hook := &liveHook{state: tgt.StateDir}
	s := open(t, Options{Target: tgt, Vars: map[string]string{"key": secretKey}, Out: &console, Sink: hook})
	run, err := s.RunOne(context.Background(), check(t, leaky))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	j := run.Journal
	if j == nil || j.Status != journal.StatusPassed || run.FilesErr != nil {
		t.Fatalf("run %+v, files: %v", j, run.FilesErr)
	}
	if len(hook.live) != 1 || !hook.live[0] {
		t.Errorf("the run held its liveness lock while its steps ran: %v, want [true]", hook.live)
	}
	if _, live := ledger.RunLive(tgt.StateDir, run.ID()); live {
		t.Error("the run is still marked live after it ended")
	}
	if want := filepath.Join(tgt.StateDir, "runs", run.ID()); run.Dir != want {
		t.Errorf("run dir %s, want %s", run.Dir, want)
	}
	if !strings.Contains(console.String(), "key is ***") || !strings.Contains(console.String(), "PASS") {
		t.Errorf("the console did not show the run, masked:\n%s", console.String())
	}
	if strings.Contains(console.String(), secretKey) {
		t.Errorf("the console shows the target's secret:\n%s", console.String())
	}
	for _, f := range []string{"journal.json", "metrics.json", "report.html"} {
		b, err := os.ReadFile(filepath.Join(run.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secretKey)) {
			t.Errorf("%s shows the target's secret", f)
		}
	}
}

func TestPrepareRefusesBadVarsBeforeAnythingRuns(t *testing.T) {
	tgt := testTarget(t)
	s := open(t, Options{Target: tgt, Vars: map[string]string{"n": "x" + secretKey}})
	runs, err := s.Prepare(check(t, "name: counted\nvars: { n: 1 }\nsteps:\n  - { action: log, with: { message: hi } }\n"))
	if err == nil || runs != nil {
		t.Fatalf("Prepare with --var n not a number: %v, %v", runs, err)
	}
	if strings.Contains(err.Error(), secretKey) || !strings.Contains(err.Error(), "x***") {
		t.Errorf("the error is not masked: %v", err)
	}
	if _, err := os.Stat(filepath.Join(tgt.StateDir, "runs")); !os.IsNotExist(err) {
		t.Errorf("a refused batch wrote run files: %v", err)
	}
}

func TestNoRunFiles(t *testing.T) {
	tgt := testTarget(t)
	s := open(t, Options{Target: tgt, NoRunFiles: true})
	run, err := s.RunOne(context.Background(), check(t, leaky))
	if err != nil {
		t.Fatal(err)
	}
	if run.Journal.Status != journal.StatusPassed || run.Dir != "" {
		t.Errorf("run %s in %q", run.Journal.Status, run.Dir)
	}
	if _, err := os.Stat(filepath.Join(tgt.StateDir, "runs")); !os.IsNotExist(err) {
		t.Errorf("NoRunFiles wrote run files: %v", err)
	}
}

// Run ids made within one second differ by 16 random bits only; among
// 300 of them two would collide about half the time.
func TestRunIDsAreUniqueInASession(t *testing.T) {
	s := open(t, Options{Target: testTarget(t)})
	c := check(t, leaky)
	cs := make([]*runner.Checked, 300)
	for i := range cs {
		cs[i] = c
	}
	runs, err := s.Prepare(cs...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range runs {
		if seen[r.ID()] {
			t.Fatalf("run id %s handed out twice", r.ID())
		}
		seen[r.ID()] = true
	}
}

func TestParallelRunsPrintPrefixedLinesAndUseRunDir(t *testing.T) {
	tgt := testTarget(t)
	var console bytes.Buffer
	out := t.TempDir()
	s := open(t, Options{Target: tgt, Out: &console, Parallel: 2, RunDir: func(id string) string { return filepath.Join(out, id) }})
	runs, err := s.Prepare(check(t, leaky), check(t, strings.Replace(leaky, "leaky", "other", 1)))
	if err != nil {
		t.Fatal(err)
	}
	s.Run(context.Background(), runs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.Journal == nil || r.Journal.Status != journal.StatusPassed || r.Dir != filepath.Join(out, r.ID()) {
			t.Fatalf("run %s: %+v in %s", r.Name, r.Journal, r.Dir)
		}
		if _, err := os.Stat(filepath.Join(r.Dir, "journal.json")); err != nil {
			t.Error(err)
		}
	}
	n := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(console.String()), "\n") {
		switch {
		case strings.HasPrefix(l, "[leaky] "):
			n["leaky"]++
		case strings.HasPrefix(l, "[other] "):
			n["other"]++
		default:
			t.Errorf("line without its run's prefix: %q", l)
		}
	}
	if n["leaky"] == 0 || n["other"] == 0 {
		t.Errorf("lines per run %v:\n%s", n, console.String())
	}
}

// Leftovers counts what earlier runs left open, not what a run still
// going in another process holds.
func TestLeftoversSkipsRunsInProgress(t *testing.T) {
	tgt := testTarget(t)
	led, err := ledger.Open(tgt.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	for _, e := range []ledger.Entry{{Run: "dead", Step: "a"}, {Run: "dead", Step: "b"}, {Run: "live", Step: "a"}} {
		if _, err := led.Intent(ledger.Entry{Run: e.Run, Step: e.Step, Kind: "instance", Provider: "local", Target: "t", Label: e.Run + e.Step}); err != nil {
			t.Fatal(err)
		}
	}
	release, err := ledger.LockRun(tgt.StateDir, "live")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	s := open(t, Options{Target: tgt})
	if res, runs, err := s.Leftovers(); res != 2 || runs != 1 || err != nil {
		t.Errorf("Leftovers = %d resources of %d runs (%v), want 2 of 1", res, runs, err)
	}
}

// A second signal while a create is in flight still names what may exist:
// the ledger's intent, which the runner has no id for yet.
func TestWriteAliveNamesCreatesInFlight(t *testing.T) {
	tgt := testTarget(t)
	s := open(t, Options{Target: tgt})
	runs, err := s.Prepare(check(t, leaky), check(t, leaky))
	if err != nil {
		t.Fatal(err)
	}
	busy := runs[0].ID()
	led, err := ledger.Open(tgt.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	if _, err := led.Intent(ledger.Entry{Run: busy, Step: "gpu", Kind: "instance", Provider: "vast", Target: "vast",
		Label: "scn-" + busy + "-gpu"}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	s.WriteAlive(&b)
	want := "  being created: instance scn-" + busy + "-gpu (vast) from step gpu: it may exist\n" +
		"  clean up with: scn cleanup --run " + busy + "\n"
	if b.String() != want {
		t.Errorf("WriteAlive printed:\n%s\nwant:\n%s", b.String(), want)
	}
}

// The session is what every run links: it takes an opened target, so no
// cloud SDK may come in with it (internal/assembly opens targets).
func TestLinksNoCloudSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, sdk := range []string{"github.com/aws/", "google.golang.org/api", "google.golang.org/grpc", "cloud.google.com/"} {
			if strings.HasPrefix(p, sdk) {
				t.Errorf("internal/session links %s", p)
			}
		}
	}
}

// scn do and the tests read the journal of RunOne's run: it has one even
// when the signal came before the run could start.
func TestRunOneAlwaysHasAJournal(t *testing.T) {
	s := open(t, Options{Target: testTarget(t), NoRunFiles: true})
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&runner.Interrupted{Signal: os.Interrupt})
	run, err := s.RunOne(ctx, check(t, leaky))
	if err != nil {
		t.Fatal(err)
	}
	if run.Journal == nil || run.Journal.Status != journal.StatusInterrupted || run.Journal.ExitCode != 130 {
		t.Fatalf("RunOne after an interrupt: %+v", run.Journal)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/testbin"
)

// drillTimeout bounds one drill run in these tests; the drills finish in
// seconds, the bound only stops a hung run.
const drillTimeout = 2 * time.Minute

// drill is what one in-process run left behind.
type drill struct {
	Journal *journal.Journal
	Dir     string // the run's files: journal.json, metrics.json, report.html
	Console string // what the console printed, masked like scn run's stdout
}

// scenario is the path of a drill of the repository.
func scenario(name string) string { return filepath.Join("..", "scenarios", name) }

// runDrill runs the scenario at path on tgt through the session `scn run`
// uses (internal/session): the target's secrets are masked on the console,
// in the ledger and in the run's files under <state>/runs/<run-id>/. The
// console is verbose, so every parameter and output is printed, and
// checked for secrets. It fails the test when the ledger still has an open
// entry afterwards.
func runDrill(t *testing.T, tgt *target.Target, path string, vars map[string]string) *drill {
	t.Helper()
	return runDrillHooked(t, tgt, path, vars, nil)
}

// runDrillHooked is runDrill calling onStart (when not nil) as each step
// starts, from the runner's goroutine before the step's action runs: a
// test makes something happen at a precise point of the drill.
func runDrillHooked(t *testing.T, tgt *target.Target, path string, vars map[string]string, onStart func(step string)) *drill {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), drillTimeout)
	defer cancel()
	c, err := session.Load(path)
	if err != nil {
		t.Fatalf("%s does not check:\n%v", path, err)
	}
	var console bytes.Buffer
	o := session.Options{Target: tgt, Vars: vars, Out: &console, Console: report.Options{Verbose: true}}
	if onStart != nil {
		o.Sink = stepHook{onStart: onStart}
	}
	s, err := session.New(o)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.RunOne(ctx, c)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if run.FilesErr != nil {
		t.Fatal(run.FilesErr)
	}
	led, err := ledger.Open(tgt.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	left, err := led.Leftovers(ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range left {
		t.Errorf("ledger entry still open after the run: %s %s %s (step %s)", rec.Kind, rec.ID, rec.State, rec.Step)
	}
	return &drill{Journal: run.Journal, Dir: run.Dir, Console: console.String()}
}

// stepHook tells onStart about every step starting.
type stepHook struct {
	event.Discard
	onStart func(step string)
}

func (h stepHook) StepStarted(s *journal.Step) { h.onStart(s.ID) }

// mustPass fails the test, with every failed step's error, unless the
// drill passed.
func mustPass(t *testing.T, d *drill) {
	t.Helper()
	if d.Journal.Status == journal.StatusPassed {
		return
	}
	for _, s := range d.Journal.Steps {
		if s.Error != "" {
			t.Logf("  step %s: %s", s.ID, s.Error)
		}
	}
	for _, u := range d.Journal.Cleanup {
		if u.Error != "" {
			t.Logf("  cleanup %s: %s", u.Description, u.Error)
		}
	}
	t.Logf("console:\n%s", d.Console)
	t.Fatalf("%s on target %s: %s: %s", d.Journal.Scenario, d.Journal.Target, d.Journal.Status, d.Journal.Error)
}

// step returns the journal's step with this id.
func step(t *testing.T, j *journal.Journal, id string) journal.Step {
	t.Helper()
	for _, s := range j.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("the journal has no step %s", id)
	return journal.Step{}
}

// output reads one output of a step as journal.json holds it (the
// runner keeps the action's typed outputs; through JSON they are a map).
func output(t *testing.T, j *journal.Journal, id, name string) any {
	t.Helper()
	s := step(t, j, id)
	var m map[string]any
	b, err := json.Marshal(s.Outputs)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("step %s outputs: %v", id, err)
	}
	v, ok := m[name]
	if !ok {
		t.Fatalf("step %s has no output %s: %s", id, name, b)
	}
	return v
}

// assertNoSecrets fails the test when any secret appears in the console
// output or in any file under dirs.
func assertNoSecrets(t *testing.T, console string, secrets []string, dirs ...string) {
	t.Helper()
	scanned := 0
	for _, s := range secrets {
		if s == "" {
			t.Fatal("assertNoSecrets: an empty secret would match everything")
		}
		if strings.Contains(console, s) {
			t.Errorf("the console output contains the secret %.4s…", s)
		}
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scanned++
			for _, s := range secrets {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s contains the secret %.4s…", path, s)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if scanned == 0 {
		t.Errorf("no file scanned for secrets under %v: the run wrote nothing?", dirs)
	}
}

// mustExist fails unless every path exists.
func mustExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("expected %s: %v", p, err)
		}
	}
}

// agentBinaries points a target at scn's agent, built once for the test
// process (what bin/scn finds beside itself after make build).
func agentBinaries(t *testing.T) *agentctl.Binaries {
	t.Helper()
	dir, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	return &agentctl.Binaries{Dir: dir}
}

// Package scenarios_test runs every scenario of the repository as a test
// (runbooks double as integration tests): scenarios/*.yaml,
// scenarios/examples/*.yaml and runner/testdata/pass/*.yaml, each on the
// free local target in its own state directory. A scenario states how it
// must end in a header comment:
//
//	# scn-test: expect-fail "MD5 mismatch"     (default: it must pass)
//	# scn-test: var sync_interval=1s           (a --var for the test run)
//
// Each runs through internal/session, the entry point of `scn run`, and
// must end with nothing alive: no sandbox, no open ledger entry.
package scenarios_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/session"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/testbin"
	"github.com/scnlabs/scn/runner"
)

func TestMain(m *testing.M) {
	local.RunIfChild() // sandboxes are this test binary, started detached
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

var header = regexp.MustCompile(`^#\s*scn-test:\s*(expect-fail|var)\s+(.*)$`)

type expectation struct {
	fail string // substring of the run's error; "" = must pass
	vars map[string]string
}

func readExpectation(t *testing.T, path string) expectation {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := expectation{vars: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		m := header.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		switch {
		case m == nil:
		case m[1] == "expect-fail":
			e.fail = strings.Trim(m[2], `"`)
		case m[1] == "var":
			k, v, _ := strings.Cut(m[2], "=")
			e.vars[k] = v
		}
	}
	return e
}

func files(t *testing.T) []string {
	var out []string
	for _, g := range []string{"*.yaml", "examples/*.yaml", "../runner/testdata/pass/*.yaml"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatal("no scenarios found")
	}
	return out
}

func TestScenariosOnLocal(t *testing.T) {
	for _, path := range files(t) {
		t.Run(strings.TrimSuffix(path, ".yaml"), func(t *testing.T) {
			t.Parallel()
			want := readExpectation(t, path)
			for k, v := range want.vars {
				want.vars[k] = strings.ReplaceAll(v, "$TMP", t.TempDir())
			}
			j, _ := run(t, path, want.vars, nil)
			switch {
			case want.fail == "" && j.Status != journal.StatusPassed:
				t.Errorf("%s %s: %s", path, j.Status, j.Error)
				for _, s := range j.Steps {
					if s.Error != "" {
						t.Logf("  step %s: %s", s.ID, s.Error)
					}
				}
			case want.fail != "" && j.Status != journal.StatusFailed:
				t.Errorf("%s must fail, but ended %s", path, j.Status)
			case want.fail != "" && !strings.Contains(j.Error, want.fail):
				t.Errorf("%s failed with %q, want an error containing %q", path, j.Error, want.fail)
			}
		})
	}
}

// run runs one scenario on a local target (a fresh one when tgt is nil)
// and checks, when the test ends, that nothing is left alive.
func run(t *testing.T, path string, vars map[string]string, tgt *target.Target) (*journal.Journal, *target.Target) {
	t.Helper()
	if tgt == nil {
		tgt = openLocal(t)
	}
	return runOn(t, path, runOptions{vars: vars, target: tgt, timeout: 4 * time.Minute}), tgt
}

// runOptions say how runOn runs a scenario.
type runOptions struct {
	vars    map[string]string
	target  *target.Target
	sink    event.Sink    // also gets the run's events; nil: none
	timeout time.Duration // for the whole run, cleanup included
	fault   runner.Fault  // a negative control; nil: none
}

// runOn runs one scenario on o.target through the session `scn run` uses
// (internal/session: masking, ledger, run lock, run files) and checks,
// when the test ends, that nothing is left alive.
func runOn(t *testing.T, path string, o runOptions) *journal.Journal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	c, err := session.Load(path)
	if err != nil {
		t.Fatalf("%s does not check:\n%v", path, err)
	}
	s, err := session.New(session.Options{Target: o.target, Vars: o.vars, Sink: o.sink, Fault: o.fault})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNothingAlive(t, o.target) })
	run, err := s.RunOne(ctx, c)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if run.FilesErr != nil {
		t.Fatal(run.FilesErr)
	}
	return run.Journal
}

func openLocal(t *testing.T) *target.Target {
	t.Helper()
	return openLocalWith(t, "")
}

// openLocalWith opens the local target in a fresh state directory whose
// scn.yaml is config ("" for none).
func openLocalWith(t *testing.T, config string) *target.Target {
	t.Helper()
	state := t.TempDir()
	file := filepath.Join(state, "scn.yaml")
	if config != "" {
		if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Snapshots go through scn's agent on the sandboxes, as with make run.
	agents, err := testbin.AgentDir()
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := assembly.Open(context.Background(), assembly.OpenOptions{Name: "local", StateDir: state, ConfigFile: file,
		Agents: &agentctl.Binaries{Dir: agents}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tgt.Close)
	return tgt
}

func assertNothingAlive(t *testing.T, tgt *target.Target) {
	t.Helper()
	insts, err := tgt.Compute.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range insts {
		t.Errorf("sandbox %s (%s) left behind", i.ID, i.Status)
		_ = tgt.Compute.Destroy(context.Background(), i.ID, "user")
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
	for _, r := range left {
		t.Errorf("ledger entry still open: %s %s %s (step %s)", r.Kind, r.ID, r.State, r.Step)
	}
	entries, _ := os.ReadDir(filepath.Join(tgt.StateDir, "store", "snapshots"))
	for _, e := range entries {
		t.Errorf("snapshot %s left in the store", e.Name())
	}
}

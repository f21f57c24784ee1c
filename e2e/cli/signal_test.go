package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// sleepy rents an instance, then naps long enough to be interrupted.
const sleepy = `name: sleepy
steps:
  - id: gpu
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: nap
    action: sleep
    with: { duration: 10m }
`

// slowCleanup's finally step makes the cleanup after an interruption
// take long enough for a second signal to land in it.
const slowCleanup = sleepy + `finally:
  - id: linger
    action: sleep
    with: { duration: 10m }
`

func TestSignalUndoesTheRun(t *testing.T) {
	for _, c := range []struct {
		name string
		sig  syscall.Signal
		code int
	}{{"SIGINT", syscall.SIGINT, 130}, {"SIGTERM", syscall.SIGTERM, 143}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			p, ids := e.startRun(sleepy, "[1/2] gpu ... ok", 1)
			p.signal(c.sig)
			if code := p.wait(); code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, p.stdout, p.stderr)
			}
			if !strings.Contains(p.stderr.String(), "stopping the current step and cleaning up") {
				t.Errorf("stderr does not say it is cleaning up:\n%s", p.stderr)
			}
			e.assertNoSandbox(ids[0])
			e.assertLedgerClosed()
			j := readJournal(t, filepath.Join(e.state, "runs", e.records()[0].Run, "journal.json"))
			if j.Status != journal.StatusInterrupted || j.ExitCode != c.code {
				t.Errorf("journal says %s, exit %d; want interrupted, %d", j.Status, j.ExitCode, c.code)
			}
			if fileExists(filepath.Join(e.state, "live", j.RunID+".lock")) {
				t.Errorf("the run's live lock is still there after it ended")
			}
		})
	}
}

func TestSecondSignalExitsAndSaysWhatIsAlive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, ids := e.startRun(slowCleanup, "[1/3] gpu ... ok", 1)
	p.signal(syscall.SIGINT)
	// The nap is cancelled; the finally step now lingers before the undo.
	p.waitOutput("[2/3] nap ... canceled")
	p.signal(syscall.SIGINT)
	if code := p.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\nstderr:\n%s", code, p.stderr)
	}
	run := e.records()[0].Run
	stderr := p.stderr.String()
	for _, want := range []string{
		"exiting before the cleanup finished",
		"still alive: instance " + ids[0] + " (local) from step gpu",
		"clean up with: scn cleanup --run " + run,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// It told the truth: the instance is alive and the ledger knows it.
	if !sandboxProcess(ids[0]) || len(e.open()) != 1 {
		t.Fatalf("after the second signal: sandbox alive %v, %d open ledger entries; want alive and 1",
			sandboxProcess(ids[0]), len(e.open()))
	}
	r := e.scn("cleanup", "--run", run)
	if r.code != 0 || !strings.Contains(r.stdout, "instance "+ids[0]+": destroyed") {
		t.Fatalf("scn cleanup --run %s: exit %d\n%s%s", run, r.code, r.stdout, r.stderr)
	}
	e.assertNoSandbox(ids[0])
	e.assertLedgerClosed()
}

func readJournal(t *testing.T, path string) *journal.Journal {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j journal.Journal
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &j
}

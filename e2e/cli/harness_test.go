package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/local"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/testbin"
)

// Bounds of every wait on a scn process; generous for a loaded 2-core CI
// machine, never reached when things work.
const (
	runTimeout  = 2 * time.Minute
	pollTimeout = 60 * time.Second
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// scnBinary is the binary under test, built on first use — inside a test,
// so go test's cache sees the sources it was built from. Under -race (make
// test) it is race-built too, and so is every sandbox it starts. The agent
// is built beside it, as `make build` puts it beside bin/scn: without it
// scn sends its own executable to each machine — under -race 70 MB, some
// 40 s of every run's first snapshot, which on a loaded machine ran a
// negative-control test past its deadline.
func scnBinary(t *testing.T) string {
	t.Helper()
	bin, err := testbin.SCN()
	if err == nil {
		_, err = testbin.AgentDir()
	}
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// env is one test's world: a working directory with its own state dir.
type env struct {
	t     *testing.T
	bin   string // the scn binary
	dir   string
	state string
	extra []string // more environment for the scn processes
	race  []string // where race-built processes report (testbin.RaceLog)
}

// newEnv makes a fresh world whose sandboxes are all gone when the test
// ends, pass or fail: `scn cleanup` first, then the local provider destroys
// any sandbox folder left (should the ledger have missed one). A data race
// any of its processes reported fails the test once they are gone.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, bin: scnBinary(t), dir: t.TempDir(), race: testbin.RaceLog(t)}
	e.state = filepath.Join(e.dir, ".scn")
	t.Cleanup(e.sweep)
	return e
}

func (e *env) sweep() {
	if r := e.scn("cleanup"); r.code != 0 {
		e.t.Logf("final scn cleanup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	p := local.New(local.Options{StateDir: e.state, StopGrace: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	defer cancel()
	insts, err := p.List(ctx, "")
	if err != nil {
		e.t.Errorf("listing leftover sandboxes: %v", err)
	}
	for _, inst := range insts {
		e.t.Errorf("sandbox %s (%s) survived scn cleanup: destroying it", inst.ID, inst.Label)
		if err := p.Destroy(ctx, inst.ID, "user"); err != nil {
			e.t.Errorf("destroying sandbox %s: %v", inst.ID, err)
		}
	}
}

// write creates a file in the working directory.
func (e *env) write(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// syncBuffer is an output buffer read while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running scn.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	code           int
}

// start runs scn with args (and the test's state dir) in the background.
// The process is killed at the end of the test if it is still running.
func (e *env) start(args ...string) *proc {
	e.t.Helper()
	cmd := exec.Command(e.bin, append(args, "--state-dir="+e.state)...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SCN_HOME="+e.state)
	cmd.Env = append(append(cmd.Env, e.race...), e.extra...)
	p := &proc{t: e.t, cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("starting scn %v: %v", args, err)
	}
	go func() {
		err := cmd.Wait()
		var ex *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ex) && ex.ExitCode() >= 0:
			p.code = ex.ExitCode()
		case errors.As(err, &ex):
			p.code = 128 + int(ex.Sys().(syscall.WaitStatus).Signal())
		default:
			p.code = -1
		}
		close(p.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code (128+n
// when killed by signal n).
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(runTimeout):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("scn %v did not exit within %s\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], runTimeout, p.stdout, p.stderr)
	}
	return p.code
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("sending %v to scn: %v", sig, err)
	}
}

// waitOutput waits until stdout or stderr contains s.
func (p *proc) waitOutput(s string) {
	p.t.Helper()
	waitFor(p.t, fmt.Sprintf("scn to print %q", s), func() bool {
		return strings.Contains(p.stdout.String(), s) || strings.Contains(p.stderr.String(), s)
	}, func() string { return "stdout:\n" + p.stdout.String() + "\nstderr:\n" + p.stderr.String() })
}

// result is a finished scn.
type result struct {
	code           int
	stdout, stderr string
}

// scn runs scn to completion.
func (e *env) scn(args ...string) result {
	e.t.Helper()
	p := e.start(args...)
	code := p.wait()
	return result{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// waitFor polls cond until it holds or pollTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool, explain func() string) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s\n%s", pollTimeout, what, explain())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// records reads the whole ledger (none when there is no file).
func (e *env) records() []ledger.Record {
	e.t.Helper()
	f, err := os.Open(filepath.Join(e.state, ledger.FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	recs, skipped, err := ledger.Read(f)
	if err != nil || skipped > 0 {
		e.t.Fatalf("reading the ledger: %v (%d lines skipped)", err, skipped)
	}
	return recs
}

// open returns the ledger's open records.
func (e *env) open() []ledger.Record {
	var out []ledger.Record
	for _, r := range e.records() {
		if r.Open() {
			out = append(out, r)
		}
	}
	return out
}

// startRun starts `scn run` on one scenario, waits until it prints
// readyLine, and returns it with the ids of the n resources it created,
// all alive.
func (e *env) startRun(scenario, readyLine string, n int) (*proc, []string) {
	e.t.Helper()
	p := e.start("run", e.write("scenario.yaml", scenario))
	p.waitOutput(readyLine)
	ids := e.createdIDs(n)
	for _, id := range ids {
		if !sandboxProcess(id) {
			e.t.Fatalf("sandbox %s is not running: the test would prove nothing", id)
		}
	}
	return p, ids
}

// createdIDs waits until n resources have ids in the ledger and returns them.
func (e *env) createdIDs(n int) []string {
	e.t.Helper()
	var ids []string
	waitFor(e.t, fmt.Sprintf("%d created resources in the ledger", n), func() bool {
		ids = nil
		for _, r := range e.records() {
			if r.ID != "" {
				ids = append(ids, r.ID)
			}
		}
		return len(ids) >= n
	}, func() string { return fmt.Sprintf("ledger: %+v", e.records()) })
	return ids
}

// sandboxProcess reports whether a live process serves sandbox id: its
// argv[0] is "scn-sandbox:<id>" (zombies have an empty command line).
func sandboxProcess(id string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, d := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && bytes.HasPrefix(b, []byte("scn-sandbox:"+id+"\x00")) {
			return true
		}
	}
	return false
}

// sandboxFolder reports whether the sandbox's folder is still there.
func (e *env) sandboxFolder(id string) bool {
	return fileExists(filepath.Join(e.state, "local", id))
}

// assertNoSandbox checks that nothing of sandbox id is left: no process, no folder.
func (e *env) assertNoSandbox(id string) {
	e.t.Helper()
	if sandboxProcess(id) {
		e.t.Errorf("sandbox %s still has a live process", id)
	}
	if e.sandboxFolder(id) {
		e.t.Errorf("sandbox %s still has its folder", id)
	}
}

// assertLedgerClosed checks that no ledger entry is open.
func (e *env) assertLedgerClosed() {
	e.t.Helper()
	for _, r := range e.open() {
		e.t.Errorf("ledger entry still open: %s %s %q (run %s, step %s, state %s)", r.Kind, r.ID, r.Label, r.Run, r.Step, r.State)
	}
}

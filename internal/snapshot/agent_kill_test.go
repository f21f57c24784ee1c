package snapshot

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/throttle"
)

// agentPIDs lists the running processes of the agent installed under home
// (by their executable).
func agentPIDs(t *testing.T, home string) []int {
	t.Helper()
	dir := filepath.Join(home, ".cache", "scn") + "/"
	procs, err := filepath.Glob("/proc/[0-9]*/exe")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range procs {
		exe, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(exe, dir) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone polls, bounded, until no agent runs under home.
func waitGone(t *testing.T, home string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(agentPIDs(t, home)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the agent still runs 30s after its session ended: pids %v", agentPIDs(t, home))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slowMachine is a machine whose link is 2 MiB/s, with a workspace of
// 8 MiB LZ4 cannot shrink: a snapshot takes about 4s once it has begun.
func slowMachine(t *testing.T) (*machine, string) {
	t.Helper()
	mc := newMachineWith(t, []string{throttle.EnvLinkRate + "=" + strconv.Itoa(2<<20)})
	src := filepath.Join(t.TempDir(), "ws")
	data := make([]byte, 8<<20)
	rand.Read(data)
	writeFile(t, filepath.Join(src, "random.bin"), data, 0o644)
	return mc, src
}

// interrupt runs Create through the agent into an S3 store and calls
// during(mc) once, at the first progress the agent reports; Create must
// then fail, and leave no object and no open upload.
func interrupt(t *testing.T, during func(ctx context.CancelCauseFunc, mc *machine)) error {
	t.Helper()
	mc, src := slowMachine(t)
	st, srv := s3StoreAndServer(t)
	ctx, cancel := context.WithCancelCause(testCtx(t))
	defer cancel(nil)
	var once sync.Once
	_, err := Create(ctx, CreateOptions{Exec: mc.x, Path: src, Name: "cut", Store: st, Agent: mc.agent,
		Notice:   func(s string) { t.Errorf("the agent was not used: %s", s) },
		Progress: func(int64) { once.Do(func() { during(cancel, mc) }) }})
	if err == nil {
		t.Fatal("Create succeeded although its transfer was cut")
	}
	waitGone(t, mc.home)
	if objs, _ := st.List(context.Background(), ""); len(objs) != 0 {
		t.Errorf("the interrupted snapshot left %v", objs)
	}
	if left := uploadsLeft(t, srv); len(left) != 0 {
		t.Errorf("multipart uploads left open (billed on B2): %v", left)
	}
	return err
}

// The agent dies mid-upload (OOM-killed, a crash): the snapshot fails
// saying so, and scn aborts the upload.
func TestAgentKilledMidTransfer(t *testing.T) {
	err := interrupt(t, func(_ context.CancelCauseFunc, mc *machine) {
		pids := agentPIDs(t, mc.home)
		if len(pids) != 1 {
			t.Fatalf("want one agent running, found %v", pids)
		}
		syscall.Kill(pids[0], syscall.SIGKILL)
	})
	if !strings.Contains(err.Error(), "the agent on the machine") || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("error %q does not say the agent died", err)
	}
}

// scn's connection to the machine dies mid-transfer — what the machine
// sees when scn is killed: the agent notices its session ended, stops
// and exits; nothing keeps running there.
func TestAgentStopsWhenItsSessionIsCut(t *testing.T) {
	interrupt(t, func(_ context.CancelCauseFunc, mc *machine) { mc.x.(*remote.Client).Close() })
}

// The step is cancelled (Ctrl+C, its timeout): scn tells the agent to
// stop and aborts the upload.
func TestCancelledSnapshotStopsTheAgent(t *testing.T) {
	stop := errors.New("interrupted by the test")
	err := interrupt(t, func(cancel context.CancelCauseFunc, _ *machine) { cancel(stop) })
	if !errors.Is(err, stop) {
		t.Fatalf("error %v does not carry the cancellation", err)
	}
}

// The same through a directory store the machine writes itself: the file
// it was writing is gone too.
func TestAgentKilledWritingSharedStore(t *testing.T) {
	mc, src := slowMachine(t)
	root := filepath.Join(t.TempDir(), "store")
	st := store.NewDir(root)
	var once sync.Once
	_, err := Create(testCtx(t), CreateOptions{Exec: mc.x, Path: src, Name: "cut", Store: st, Agent: mc.agent,
		Progress: func(int64) {
			once.Do(func() {
				for _, pid := range agentPIDs(t, mc.home) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
		}})
	if err == nil {
		t.Fatal("Create succeeded although its agent was killed")
	}
	waitGone(t, mc.home)
	if left, _ := filepath.Glob(filepath.Join(root, "*", "*", "*")); len(left) != 0 {
		t.Errorf("the store holds %v after the failed snapshot", left)
	}
}

package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// A run in progress holds an exclusive flock(2) on STATE/live/<run-id>.lock
// from before it creates anything until it has cleaned up. `scn cleanup`
// uses it to tell a run still going in another terminal (hands off: it
// cleans up after itself) from one that crashed or was killed: the kernel
// drops the lock with the process, even after kill -9. The file holds the
// pid, for messages. Go opens files close-on-exec, so the sandboxes a run
// starts do not inherit the lock.

func liveLockPath(state, runID string) string {
	return filepath.Join(state, "live", runID+".lock")
}

// LockRun marks runID as in progress until release is called.
func LockRun(state, runID string) (release func(), err error) {
	path := liveLockPath(state, runID)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("marking run %s as live: %w", runID, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("marking run %s as live: %w", runID, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("marking run %s as live: lock %s: %w", runID, path, err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() {
		os.Remove(path) // before unlocking: nobody can lock a file that is still ours
		f.Close()
	}, nil
}

// RunLive reports whether runID is in progress, and its pid when it is.
// A lock file left by a crashed run is removed.
func RunLive(state, runID string) (pid int, live bool) {
	path := liveLockPath(state, runID)
	f, err := os.Open(path)
	if err != nil { // no lock file (or none readable): no run holds it
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid, true
	}
	os.Remove(path) // its run died without releasing it
	return 0, false
}

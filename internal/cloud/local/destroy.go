package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
)

// killWait bounds how long Destroy waits for a SIGKILLed sandbox to vanish.
const killWait = 10 * time.Second

// Destroy implements cloud.Provider. ReasonUser stops the sandbox (SIGTERM,
// then SIGKILL after StopGrace) and removes its folder; ReasonFailure kills
// it outright and keeps the folder, like a GPU host that died — a later
// ReasonUser destroy removes it. Either way every process the sandbox ran
// is killed. A sandbox already gone is not an error.
func (p *Provider) Destroy(ctx context.Context, id string, reason cloud.DestroyReason) error {
	if reason != cloud.ReasonUser && reason != cloud.ReasonFailure {
		return fmt.Errorf("local destroy %s: unknown reason %q (user or failure)", id, reason)
	}
	if !idPattern.MatchString(id) {
		return nil // never ours, so nothing to destroy
	}
	dir := p.dir(id)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var st sandbox.State
	if err := sandbox.ReadJSON(filepath.Join(dir, sandbox.StateFile), &st); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local destroy %s: %w", id, err)
	}
	alive, err := sandbox.Alive(dir)
	if err != nil {
		return fmt.Errorf("local destroy %s: %w", id, err)
	}
	if alive {
		if st.PID <= 0 {
			return fmt.Errorf("local destroy %s: sandbox is alive but %s has no pid", id, sandbox.StateFile)
		}
		if err := p.stop(ctx, dir, st.PID, reason == cloud.ReasonUser); err != nil {
			return fmt.Errorf("local destroy %s: %w", id, err)
		}
	}
	if st.PID > 0 {
		killSession(st.PID) // what the sandbox started and did not take down with it
	}
	if reason == cloud.ReasonFailure {
		return nil
	}
	if err := removeAll(dir); err != nil {
		return fmt.Errorf("local destroy %s: remove folder: %w", id, err)
	}
	return nil
}

// stop ends the sandbox process: politely first when graceful, then SIGKILL.
// The lock tells when it is really gone, whatever became of its pid.
func (p *Provider) stop(ctx context.Context, dir string, pid int, graceful bool) error {
	if graceful {
		syscall.Kill(pid, syscall.SIGTERM)
		if gone(ctx, dir, p.opts.StopGrace) {
			return nil
		}
	}
	// The process group is the sandbox alone (its commands have their own
	// groups, swept by killSession).
	syscall.Kill(-pid, syscall.SIGKILL)
	if gone(ctx, dir, killWait) {
		return nil
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return fmt.Errorf("sandbox process %d still alive %s after SIGKILL", pid, killWait)
}

// gone waits up to d for the sandbox in dir to release its lock.
func gone(ctx context.Context, dir string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if alive, err := sandbox.Alive(dir); err == nil && !alive {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// removeAll removes dir even when a command made parts of it read-only.
func removeAll(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

package standby

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/remote"
)

// Sync runs one cycle now (standby.sync) and returns its figures. It
// waits for a background cycle in flight rather than overlapping it, and
// fails when there is no GPU to sync from (failover active) or no standby
// to sync to (lost). progress (may be nil) is told the bytes streamed.
func (a *Association) Sync(ctx context.Context, progress func(int64)) (Cycle, error) {
	if err := a.syncable(); err != nil {
		return Cycle{}, err
	}
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	if err := a.syncable(); err != nil {
		return Cycle{}, err
	}
	c, err := a.cycle(ctx, progress)
	if err != nil {
		a.logf("sync from GPU %s failed: %s", c.GPU, c.Error)
	}
	return c, err
}

// syncable says why a sync cannot run, nil when it can.
func (a *Association) syncable() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.stopped:
		return ErrStopped
	case a.state == FailoverActive:
		return fmt.Errorf("cannot sync: failover is active (%s); failover.restore moves the association to a new GPU", a.problem)
	case a.state == StandbyLost:
		return fmt.Errorf("cannot sync: %s", a.problem)
	}
	return nil
}

// backgroundSync is one cycle of the loop; ran is false when the state
// says there is nothing to do. The cycle can be cancelled by failover
// detection: a GPU that died mid-stream must not hold the loop.
func (a *Association) backgroundSync() (c Cycle, err error, ran bool) {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	if a.syncable() != nil {
		return Cycle{}, nil, false
	}
	ctx, cancel := context.WithCancel(a.ctx)
	a.mu.Lock()
	a.cycleCancel = cancel
	a.mu.Unlock()
	defer func() {
		cancel()
		a.mu.Lock()
		a.cycleCancel = nil
		a.mu.Unlock()
	}()
	c, err = a.cycle(ctx, nil)
	if err != nil && ctx.Err() == nil {
		a.logf("sync from GPU %s failed: %s", c.GPU, c.Error)
	}
	return c, err, true
}

// cycle lists both sides, deletes on the standby what the GPU no longer
// has, streams what changed, and records the result. syncMu must be held.
func (a *Association) cycle(ctx context.Context, progress func(int64)) (Cycle, error) {
	a.mu.Lock()
	gpu, gen := a.gpu, a.gen
	a.mu.Unlock()
	start := time.Now()
	c := Cycle{At: start, GPU: gpu.Instance.ID}
	snap, err := a.transfer(ctx, gpu, &c, progress)
	c.Seconds = time.Since(start).Seconds()

	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case gen != a.gen:
		err = fmt.Errorf("the association moved to GPU %s during the sync from %s", a.gpu.Instance.ID, gpu.Instance.ID)
	case err != nil:
	default:
		a.syncCount++
		a.lastCycle, a.lastSyncAt, a.synced = c, start, snap
		a.copyFiles, a.copyBytes = snap.Entries.files()
		a.aliveAt = time.Now()
		if a.state == Restored {
			a.state = Syncing
		}
		if a.state == Syncing {
			a.problem = ""
		}
		return c, nil
	}
	c.Error = describe(err)
	if a.state == Syncing || a.state == Restored {
		a.problem = "last sync failed: " + c.Error
	}
	return c, err
}

// transfer does the work of a cycle and returns the GPU's listing.
func (a *Association) transfer(ctx context.Context, gpu Machine, c *Cycle, progress func(int64)) (snapshot, error) {
	gx, err := connect(ctx, GPU, gpu)
	if err != nil {
		return snapshot{}, err
	}
	sx, err := connect(ctx, Standby, a.sb)
	if err != nil {
		return snapshot{}, err
	}
	var src, dst snapshot
	var srcErr, dstErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		src, srcErr = list(ctx, GPU, gpu, gx, a.opts.Exclude, "", a.moved(gpu))
	}()
	dst, dstErr = list(ctx, Standby, a.sb, sx, a.opts.Exclude, "mkdir -p -- "+remote.Quote(a.sb.Dir)+" && ", a.moved(a.sb))
	wg.Wait()
	c.Listed = src.Size
	if err := firstErr(srcErr, dstErr); err != nil {
		return snapshot{}, err
	}
	if n, _ := dst.Entries.files(); len(src.Entries) == 0 && n > 0 {
		// Mirroring would wipe the only copy: a GPU that came back on a
		// fresh disk has lost its work, not deleted it on purpose.
		return snapshot{}, &SideError{Side: GPU, ID: gpu.Instance.ID, Err: fmt.Errorf(
			"%s is empty while the standby holds %s: not mirroring an emptied workspace (did the GPU restart on a fresh disk?)", gpu.Dir, plural.Count(n, "file"))}
	}
	p := diff(src.Entries, dst.Entries)
	if len(p.remove) > 0 {
		if _, err := exec(ctx, Standby, a.sb.Instance.ID, sx, removeCommand(a.sb.Dir), nulList(p.remove)); err != nil {
			return snapshot{}, fmt.Errorf("deleting %d paths: %w", len(p.remove), err)
		}
	}
	c.Deleted = len(p.remove)
	if len(p.send) > 0 {
		if err := a.copyPaths(ctx, gpu, gx, sx, p.send, c, progress); err != nil {
			return snapshot{}, err
		}
	}
	c.Files = len(p.send)
	return src, nil
}

// connect reaches a machine; failing to is the machine's fault.
func connect(ctx context.Context, side Side, m Machine) (remote.Execer, error) {
	x, err := m.Connect(ctx, m.Instance)
	if err != nil {
		return nil, &SideError{Side: side, ID: m.Instance.ID, Err: fmt.Errorf("connecting: %w", err)}
	}
	return x, nil
}

// list runs listCommand on a machine (after prefix, e.g. a mkdir). The
// listing crosses the machine's link to scn every cycle (~100 bytes an
// entry: 10 MB for 100,000 files), so moved (optional) hears it as sent,
// whether or not the listing then parses.
func list(ctx context.Context, side Side, m Machine, x remote.Execer, exclude []string, prefix string, moved func(sent, received int64)) (snapshot, error) {
	out, err := exec(ctx, side, m.Instance.ID, x, prefix+listCommand(m.Dir, exclude, time.Time{}), nil)
	if moved != nil && len(out) > 0 {
		moved(int64(len(out)), 0)
	}
	if err != nil {
		return snapshot{}, fmt.Errorf("listing %s: %w", m.Dir, err)
	}
	snap, err := parseListing(out)
	if err != nil {
		return snapshot{}, &SideError{Side: side, ID: m.Instance.ID, Err: fmt.Errorf("listing %s: %w", m.Dir, err)}
	}
	snap.Size = int64(len(out))
	return snap, nil
}

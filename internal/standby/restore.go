package standby

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/remote"
)

// VerifyFunc checks a restored copy: files are the regular files restored,
// relative to the standby's workspace (from) and the new GPU's (to). It
// returns an error naming what does not match; Restore then does not move
// the association to the damaged GPU.
type VerifyFunc func(ctx context.Context, from, to remote.Execer, files []string) error

// Move is what Restore did: the copy onto a new GPU.
type Move struct {
	GPU     string // the new GPU
	Files   int    // regular files restored
	Entries int    // every path restored (files, folders, links)
	Bytes   int64  // bytes of the tar stream
	// Via says how they went (ViaAgent: standby → store → new GPU by the
	// agents; ViaSCN) and SCNBytes how many passed through scn's process.
	Via      string
	SCNBytes int64
	Seconds  float64
	// MTTR is from failure detection to the copy restored and verified on
	// the new GPU; 0 when no failure was being recovered (a planned move).
	MTTR time.Duration
	// Planned is true when the old GPU had not failed: it was synced one
	// last time and the association moved on.
	Planned bool
}

// MBPerSec is the stream's rate in MB (10^6 bytes) per second.
func (r Move) MBPerSec() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Bytes) / 1e6 / r.Seconds
}

// Restore copies the standby's copy onto a new GPU (through the store by
// the agents, or streamed through scn: see relayOrStream) (to.Dir, created if
// missing), verifies it with verify (nil: not verified) and, if it holds,
// makes the association follow the new GPU: state restored, then syncing
// from the next cycle. When the old GPU has not failed (a planned move),
// it is synced one last time first so the new GPU misses nothing. No sync
// runs while the copy is made.
func (a *Association) Restore(ctx context.Context, to Machine, verify VerifyFunc, progress func(int64)) (Move, error) {
	if err := to.check(); err != nil {
		return Move{}, fmt.Errorf("new GPU: %w", err)
	}
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	a.mu.Lock()
	state, stopped, detected, problem := a.state, a.stopped, a.detectedAt, a.problem
	a.mu.Unlock()
	switch {
	case stopped:
		return Move{}, ErrStopped
	case state == StandbyLost:
		return Move{}, fmt.Errorf("nothing to restore from: %s", problem)
	}
	r := Move{GPU: to.Instance.ID, Planned: state != FailoverActive}
	if r.Planned {
		if c, err := a.cycle(ctx, nil); err != nil {
			a.logf("planned move: the last sync from GPU %s failed (%s); restoring what the standby holds", c.GPU, c.Error)
		}
	}
	start := time.Now()
	files, err := a.copyTo(ctx, to, &r, progress)
	r.Seconds = time.Since(start).Seconds()
	if err != nil {
		return r, err
	}
	if verify != nil {
		from, err := connect(ctx, Standby, a.sb)
		if err != nil {
			return r, err
		}
		dst, err := connect(ctx, GPU, to)
		if err != nil {
			return r, err
		}
		if err := verify(ctx, from, dst, files); err != nil {
			return r, fmt.Errorf("verifying the copy on GPU %s: %w", to.Instance.ID, err)
		}
	}

	a.mu.Lock()
	now := time.Now()
	if !r.Planned && !detected.IsZero() {
		r.MTTR = now.Sub(detected)
	}
	a.gpu, a.gen = to, a.gen+1
	a.state, a.problem, a.restoredAt, a.mttr = Restored, "", now, r.MTTR
	a.gpuFails, a.aliveAt, a.lostAt = 0, now, time.Time{}
	// The new GPU's clock is not the old one's: no "changed since" scan
	// until the first sync from it.
	a.synced, a.changed = snapshot{}, nil
	a.mu.Unlock()
	// failover.restore, which asked for this, shows it: the event is only
	// kept for standby.status, not shown a second time as it happens.
	a.record(fmt.Sprintf("restored %s (%s) from standby %s onto GPU %s in %.1fs; syncing from it now",
		plural.Count(r.Files, "file"), plural.Count(int(r.Bytes), "byte"), a.sb.Instance.ID, to.Instance.ID, r.Seconds))
	return r, nil
}

// copyTo lists the standby's copy and streams exactly those entries to the
// new GPU, so what is verified is what was sent. It returns the regular
// files, sorted.
func (a *Association) copyTo(ctx context.Context, to Machine, r *Move, progress func(int64)) ([]string, error) {
	sx, err := connect(ctx, Standby, a.sb)
	if err != nil {
		return nil, err
	}
	gx, err := connect(ctx, GPU, to)
	if err != nil {
		return nil, err
	}
	snap, err := list(ctx, Standby, a.sb, sx, a.opts.Exclude, "", a.moved(a.sb))
	if err != nil {
		return nil, err
	}
	var all, files []string
	for name, e := range snap.Entries {
		all = append(all, name)
		if e.Type == 'f' {
			files = append(files, name)
		}
	}
	sort.Strings(all)
	sort.Strings(files)
	r.Entries, r.Files = len(all), len(files)
	if len(all) == 0 {
		_, err := exec(ctx, GPU, to.Instance.ID, gx, "mkdir -p -- "+remote.Quote(to.Dir), nil)
		return files, err
	}
	n, via, err := a.relayOrStream(ctx, end{Standby, a.sb, sx}, end{GPU, to, gx}, all, progress)
	r.Bytes, r.Via = n, via
	if via == ViaSCN {
		r.SCNBytes = n
	}
	if err != nil {
		return nil, fmt.Errorf("copying %d paths from standby %s to GPU %s: %w", len(all), a.sb.Instance.ID, to.Instance.ID, err)
	}
	return files, nil
}

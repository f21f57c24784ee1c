package standby

import (
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// Status is a snapshot of an association, with the drill's figures.
type Status struct {
	State     string
	Problem   string // why it is not syncing (standby lost, GPU failed) or the last sync error
	GPU       string // id of the GPU followed (the new one after a restore)
	Standby   string
	Address   string // the standby's SSH address
	Workspace string // the standby's copy

	SyncCount  int
	LastSync   Cycle     // the last successful sync
	LastSyncAt time.Time // when that sync's listing of the GPU began
	Files      int       // regular files in the standby's copy
	Bytes      int64     // their total size

	Checks         int       // health rounds so far
	GPUFailures    int       // consecutive failed checks of the GPU
	AliveAt        time.Time // the GPU was last seen alive (a good check or sync)
	FirstFailureAt time.Time // first failed check of the streak that triggered failover
	DetectedAt     time.Time // when failover became active
	// Detection is how long the GPU was dead before scn noticed: from its
	// failure when the run knows it (it killed the GPU: GPULost), else,
	// at most, from the last time it was seen alive, to DetectedAt.
	Detection time.Duration
	// DataAtRisk is the window of work lost with the GPU: from the start
	// of the last successful sync to its failure when the run knows it,
	// else to the first failed check (an upper bound of when the GPU
	// died). Everything written in it existed only on the GPU.
	DataAtRisk time.Duration
	RestoredAt time.Time
	MTTR       time.Duration // detection → restored and verified (0: no failure was being recovered)

	// Pending are the GPU's files written since the last sync, as the last
	// good health check saw them: what a failure now would lose.
	Pending []string
	// Lost are the files pending when the GPU failed: written after the
	// last sync, never copied. A lower bound: what was written between the
	// last good check and the failure was never seen (DataAtRisk covers it).
	Lost []string
}

// Status returns the association's current figures.
func (a *Association) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{
		State: a.state, Problem: a.problem, GPU: a.gpu.Instance.ID, Standby: a.sb.Instance.ID,
		Address: a.sb.Instance.Addr(), Workspace: a.sb.Dir,
		SyncCount: a.syncCount, LastSync: a.lastCycle, LastSyncAt: a.lastSyncAt,
		Files: a.copyFiles, Bytes: a.copyBytes,
		Checks: a.checks, GPUFailures: a.gpuFails, AliveAt: a.aliveAt,
		FirstFailureAt: a.firstFailureAt, DetectedAt: a.detectedAt, Detection: a.detection,
		DataAtRisk: a.atRisk, RestoredAt: a.restoredAt, MTTR: a.mttr,
		Lost: append([]string(nil), a.lost...),
	}
	if a.state == Syncing || a.state == Restored {
		s.Pending = a.pendingLocked()
	}
	return s
}

// Journal is the association as the run's journal records it.
func (s Status) Journal() journal.Standby {
	j := journal.Standby{ID: s.Standby, State: s.State, SyncCount: s.SyncCount, DetectionSeconds: s.Detection.Seconds(),
		MTTRSeconds: s.MTTR.Seconds(), DataAtRiskSeconds: s.DataAtRisk.Seconds(), LostFiles: len(s.Lost)}
	if s.State == StandbyLost {
		j.Error = s.Problem
	}
	return j
}

package standby

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/remote"
)

// scanMargin widens the "changed since the last sync" scan: file times
// come from the kernel's coarse clock, which can lag `date` by a tick, and
// some filesystems round them. Entries the margin adds back are compared
// with the synced listing, so it costs nothing in accuracy.
const scanMargin = 2 * time.Second

// Health is one round of health checks.
type Health struct {
	At             time.Time
	GPUChecked     bool   // false once failover is active: the GPU is not watched any more
	GPUProblem     string // "" when the GPU passed
	StandbyProblem string // "" when the standby passed
	// Consecutive failures after this round.
	GPUFailures, StandbyFailures int
	State                        string // the association's state after this round
}

// verdict is what one machine's check found.
type verdict struct {
	inst    *cloud.Instance // fresh from the provider; nil when not read
	changed Listing         // GPU: entries modified since the last sync
	problem string          // "" when healthy
}

// checkRound checks the GPU (while it is followed) and the standby at
// once, then counts failures.
func (a *Association) checkRound() Health {
	a.mu.Lock()
	gpu, gen, state, since := a.gpu, a.gen, a.state, a.synced.Clock
	a.mu.Unlock()
	h := Health{At: time.Now(), State: state}
	if state == StandbyLost {
		return h
	}
	watchGPU := state == Syncing || state == Restored
	var g verdict
	var wg sync.WaitGroup
	if watchGPU {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g = a.checkMachine(GPU, gpu, since)
		}()
	}
	s := a.checkMachine(Standby, a.sb, time.Time{})
	wg.Wait()
	return a.count(h, gen, watchGPU, g, s)
}

// checkMachine asks the provider for the machine's status (an API error is
// inconclusive: SSH decides), probes SSH, and runs one command in the
// workspace: on the GPU, a scan of what changed since the last sync (as of
// the GPU's clock at that sync); on the standby, a check that the copy is
// still there.
func (a *Association) checkMachine(side Side, m Machine, since time.Time) verdict {
	ctx, cancel := context.WithTimeout(a.ctx, a.opts.CheckTimeout)
	defer cancel()
	var v verdict
	inst := m.Instance
	if m.Provider != nil {
		fresh, err := m.Provider.Get(ctx, inst.ID)
		switch {
		case errors.Is(err, cloud.ErrNotFound):
			v.problem = "gone: " + m.Provider.Name() + " no longer knows it"
			return v
		case err != nil:
		case fresh.Status != cloud.StatusRunning:
			v.problem = "status " + fresh.Status
			if fresh.StatusMsg != "" {
				v.problem += " (" + fresh.StatusMsg + ")"
			}
			return v
		default:
			inst, v.inst = fresh, fresh
		}
	}
	if m.Probe != nil {
		if err := m.Probe(ctx, inst); err != nil {
			v.problem = "SSH probe failed: " + describe(err)
			return v
		}
	}
	x, err := m.Connect(ctx, inst)
	if err != nil {
		v.problem = "cannot connect: " + describe(err)
		return v
	}
	if side == GPU && !since.IsZero() {
		out, err := exec(ctx, side, inst.ID, x, listCommand(m.Dir, a.opts.Exclude, since.Add(-scanMargin)), nil)
		if err == nil {
			var snap snapshot
			if snap, err = parseListing(out); err == nil {
				v.changed = snap.Entries
				return v
			}
		}
		v.problem = "scanning the workspace " + m.Dir + " failed: " + describe(err)
		return v
	}
	if _, err := exec(ctx, side, inst.ID, x, "cd -- "+remote.Quote(m.Dir), nil); err != nil {
		v.problem = "workspace " + m.Dir + " unreachable: " + describe(err)
	}
	return v
}

// count applies a round's verdicts: consecutive failures past the
// threshold make failover active (GPU) or the standby lost.
func (a *Association) count(h Health, gen int, watchGPU bool, g, s verdict) Health {
	var logs []string
	a.mu.Lock()
	if a.ctx.Err() != nil || a.state == StandbyLost {
		// Stopped mid-round: its failures are our own cancellation.
		h.State = a.state
		a.mu.Unlock()
		return h
	}
	a.checks++
	th := a.opts.FailureThreshold
	if watchGPU && gen == a.gen && (a.state == Syncing || a.state == Restored) {
		h.GPUChecked, h.GPUProblem = true, g.problem
		id := a.gpu.Instance.ID
		if g.problem == "" {
			a.gpuFails, a.aliveAt, a.changed = 0, time.Now(), g.changed
			if g.inst != nil {
				a.gpu.Instance = g.inst // the provider may have moved its SSH address
			}
		} else {
			if a.gpuFails == 0 {
				a.firstFailureAt = h.At
			}
			a.gpuFails++
			logs = append(logs, fmt.Sprintf("GPU %s failed its health check (%d/%d): %s", id, a.gpuFails, th, g.problem))
			if a.gpuFails >= th {
				a.state, a.detectedAt, a.lost = FailoverActive, time.Now(), a.pendingLocked()
				// Without the failure's time (a real outage), it lies
				// between the last good check and the first failed one:
				// detection counts from the former, the data at risk to
				// the latter (an upper bound). A drill that killed the
				// GPU knows it (gpuLost).
				// (A round that began just before the kill may be the one
				// that saw it: the known time wins over the round's start.)
				from, to := a.aliveAt, a.firstFailureAt
				if lost := a.lostAt; lost.After(a.aliveAt) {
					from, to = lost, lost
				}
				a.detection = a.detectedAt.Sub(from)
				a.atRisk = max(0, to.Sub(a.lastSyncAt))
				a.problem = fmt.Sprintf("GPU %s failed %d health checks in a row (last: %s)", id, a.gpuFails, g.problem)
				if a.cycleCancel != nil {
					a.cycleCancel() // a sync from the dead GPU would only hang
				}
				logs = append(logs, fmt.Sprintf("failover active: the standby %s holds the workspace as synced at %s; %s on the GPU since are lost%s",
					a.sb.Instance.ID, a.lastSyncAt.UTC().Format(time.RFC3339), plural.Of(len(a.lost), "file written", "files written"), listSome(a.lost, 5)))
			}
		}
	}
	h.GPUFailures = a.gpuFails
	h.StandbyProblem = s.problem
	if s.problem == "" {
		a.standbyFails = 0
	} else {
		a.standbyFails++
		logs = append(logs, fmt.Sprintf("standby %s failed its health check (%d/%d): %s", a.sb.Instance.ID, a.standbyFails, th, s.problem))
		if a.standbyFails >= th {
			while := ""
			if a.state == FailoverActive {
				while = " while it held the only copy of the workspace (the GPU had failed)"
			}
			a.state = StandbyLost
			a.problem = fmt.Sprintf("standby %s lost%s: %s", a.sb.Instance.ID, while, s.problem)
			logs = append(logs, a.problem)
			a.cancel() // nothing left to sync to or to watch for
		}
	}
	h.StandbyFailures, h.State = a.standbyFails, a.state
	a.mu.Unlock()
	for _, l := range logs {
		a.logf("%s", l)
	}
	return h
}

// listSome renders up to n names as ": a, b, … (k more)".
func listSome(names []string, n int) string {
	if len(names) == 0 {
		return ""
	}
	shown := names[:min(n, len(names))]
	s := ": " + strings.Join(shown, ", ")
	if len(names) > n {
		s += fmt.Sprintf(" … (%d more)", len(names)-n)
	}
	return s
}

// gpuLost records when the GPU a was following was lost, if it is id.
func (a *Association) gpuLost(id string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gpu.Instance.ID != id || !a.lostAt.IsZero() {
		return
	}
	a.lostAt = at
	// The checks may have seen the loss before the drill's destroy
	// returned (on VAST it confirms the DELETE by status reads seconds
	// apart): the known time then replaces the bracket they had to use.
	if a.state == FailoverActive && at.After(a.aliveAt) && !at.After(a.detectedAt) {
		a.detection = a.detectedAt.Sub(at)
		a.atRisk = max(0, at.Sub(a.lastSyncAt))
	}
}

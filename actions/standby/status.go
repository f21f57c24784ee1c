package standby

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/standby"
)

// StatusParams are the parameters of standby.status.
type StatusParams struct {
	ID   actions.StandbyRef `json:"id" alias:"standby,on" required:"true" doc:"the standby: its id or ${{ steps.standby }} (the id of the GPU it follows works too)"`
	Fail bool               `json:"fail" default:"true" doc:"fail the step when the standby was lost (its copy is gone); false only reports it"`
}

// maxListed caps the file lists in outputs (their counts are exact).
const maxListed = 100

// StatusOutputs describe an association (standby.status).
type StatusOutputs struct {
	ID                string    `json:"id" doc:"the standby instance"`
	Address           string    `json:"address" doc:"the standby's SSH host:port"`
	State             string    `json:"state" doc:"syncing, failover_active, restored or standby_lost"`
	GPU               string    `json:"gpu" doc:"the GPU followed (the new one after failover.restore)"`
	Workspace         string    `json:"workspace" doc:"folder of the copy on the standby"`
	LastSyncAt        time.Time `json:"last_sync_at" doc:"when the last successful sync started listing the GPU"`
	SyncCount         int       `json:"sync_count" doc:"successful syncs so far"`
	FileCount         int       `json:"file_count" doc:"regular files in the standby's copy"`
	Bytes             int64     `json:"bytes" doc:"their total size"`
	Checks            int       `json:"checks" doc:"health check rounds so far"`
	GPUFailures       int       `json:"gpu_failures" doc:"consecutive failed checks of the GPU"`
	GPUAliveAt        time.Time `json:"gpu_alive_at" doc:"last time the GPU was seen alive (a good check or sync)"`
	FirstFailureAt    time.Time `json:"first_failure_at" doc:"first failed check of the streak that made failover active"`
	FailureDetectedAt time.Time `json:"failure_detected_at" doc:"when failover became active"`
	DetectionSeconds  float64   `json:"detection_seconds" doc:"how long the GPU was dead before scn noticed: from its failure — the moment instance.destroy reason: failure was accepted when the run killed it, else gpu_alive_at, an upper bound — to failure_detected_at"`
	DataAtRiskSeconds float64   `json:"data_at_risk_seconds" doc:"work lost with the GPU: last_sync_at to its failure — the moment instance.destroy reason: failure was accepted when the run killed it, else first_failure_at, an upper bound (everything written in it was only on the GPU)"`
	PendingFiles      int       `json:"pending_files" doc:"GPU files written since the last sync, as of the last good check: what a failure now would lose"`
	Pending           []string  `json:"pending" doc:"their paths, relative to the workspace (first 100)"`
	LostFiles         int       `json:"lost_files" doc:"files written after the last sync that the failure lost (seen by the last good check: a lower bound)"`
	Lost              []string  `json:"lost" doc:"their paths, relative to the workspace (first 100)"`
	RestoredAt        time.Time `json:"restored_at" doc:"when failover.restore moved the copy onto a new GPU"`
	MTTRSeconds       float64   `json:"mttr_seconds" doc:"failure detected → restored and verified on the new GPU"`
	LastError         string    `json:"last_error" doc:"why the association is not syncing (standby lost, GPU failed) or the last sync's error"`

	status standby.Status
}

// Standby implements actions.StandbyReport.
func (o *StatusOutputs) Standby() journal.Standby { return o.status.Journal() }

// StandbyCopy implements actions.StandbyCopy: the copy a failover would
// hand over.
func (o *StatusOutputs) StandbyCopy() (actions.InstanceRef, string, bool) {
	return actions.InstanceRef{ID: o.ID}, o.Workspace, o.State == standby.FailoverActive
}

// statusOf renders an association's status as outputs.
func statusOf(st standby.Status) *StatusOutputs {
	return &StatusOutputs{ID: st.Standby, Address: st.Address, State: st.State, GPU: st.GPU, Workspace: st.Workspace,
		LastSyncAt: utc(st.LastSyncAt), SyncCount: st.SyncCount, FileCount: st.Files, Bytes: st.Bytes,
		Checks: st.Checks, GPUFailures: st.GPUFailures, GPUAliveAt: utc(st.AliveAt),
		FirstFailureAt: utc(st.FirstFailureAt), FailureDetectedAt: utc(st.DetectedAt),
		DetectionSeconds: st.Detection.Seconds(), DataAtRiskSeconds: st.DataAtRisk.Seconds(),
		PendingFiles: len(st.Pending), Pending: capped(st.Pending), LostFiles: len(st.Lost), Lost: capped(st.Lost),
		RestoredAt: utc(st.RestoredAt), MTTRSeconds: st.MTTR.Seconds(), LastError: st.Problem, status: st}
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func capped(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s[:min(len(s), maxListed)]
}

// Status reports on a standby association.
var Status = actions.Define(actions.Info{
	Name:    "standby.status",
	Summary: "report a standby's sync and failure detection: state, last sync, files at risk, detection time",
	Doc: `Reads the association standby.create started (no machine is contacted: it is
cheap to poll). Poll it with until to wait for the failure to be noticed:
until: { expr: "state == 'failover_active'", interval: 1s, timeout: 2m }.

What the drill reports: detection_seconds (from the GPU's failure to the
detection), data_at_risk_seconds (from the last successful sync to the
failure: work only the GPU had), lost_files (files
the GPU wrote after the last sync, as its last good check saw them: a lower
bound — what was written after that check was never seen). The failure is
the moment instance.destroy reason: failure was accepted when the run
killed the GPU; in a real outage it is unknown, and the figures bracket
it: detection from the last time the GPU was seen alive, data at risk to
the first failed check (an upper bound). pending_files is
the same figure while the GPU is alive: wait until it counts the files a
drill wrote before killing the GPU.

Logs what happened in the background since the previous standby step
(failed checks, state changes). Fails when the standby was lost, unless
fail: false.`,
	Example: "- id: detect\n  action: standby.status\n  with: { id: \"${{ steps.standby }}\" }\n  until: { expr: \"state == 'failover_active'\", interval: 1s, timeout: 2m }",
}, func(ctx context.Context, env *actions.Env, p *StatusParams) (*StatusOutputs, error) {
	a, err := standby.Find(env.Shared, p.ID.ID)
	if err != nil {
		return nil, err
	}
	// The console showed each event when it happened: the journal keeps them.
	for _, line := range a.TakeEvents() {
		env.Journalf("%s", line)
	}
	out := statusOf(a.Status())
	line := fmt.Sprintf("standby %s: %s, %s (last %s), %s, GPU %s", out.ID, out.State, plural.Count(out.SyncCount, "sync"),
		when(out.LastSyncAt), plural.Count(out.FileCount, "file"), out.GPU)
	// Polled with until, the status is shown when it changes, not every poll.
	if shown := lastShown(env, out.ID); shown.swap(line) == line {
		env.Journalf("%s", line)
	} else {
		env.Logf("%s", line)
	}
	if out.State == standby.StandbyLost && p.Fail {
		return out, fmt.Errorf("%s", out.LastError)
	}
	return out, nil
})

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

// shownLine is the status line last shown on the console for a standby.
type shownLine struct {
	mu   sync.Mutex
	line string
}

// swap records line as shown and returns the one shown before.
func (s *shownLine) swap(line string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.line
	s.line = line
	return old
}

// lastShown is the run's shownLine of standby id.
func lastShown(env *actions.Env, id string) *shownLine {
	v := env.Shared.Load("standby.status.shown/"+id, func() any { return &shownLine{} })
	if v == nil { // no Shared: show every line
		return &shownLine{}
	}
	return v.(*shownLine)
}

// ResourceKind implements actions.Resource: the id is the standby's.
func (StatusOutputs) ResourceKind() string { return "standby" }

package standby

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/rent"
	"github.com/scnlabs/scn/internal/resource"
	snap "github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/standby"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/units"
)

// CreateParams are the parameters of standby.create.
type CreateParams struct {
	GPU              actions.InstanceRef `json:"gpu" alias:"on,instance" required:"true" doc:"the GPU instance to follow: an id or ${{ steps.gpu }}"`
	Offer            *cloud.Offer        `json:"offer" doc:"the standby provider's offer to rent; default: its cheapest CPU offer"`
	MachineType      string              `json:"machine_type" doc:"rent this machine type from the standby provider (e2-medium...) instead of the cheapest"`
	SyncInterval     actions.Duration    `json:"sync_interval" min:">0" default:"30s" doc:"time between syncs"`
	CheckInterval    actions.Duration    `json:"check_interval" min:">0" default:"10s" doc:"time between health checks of the GPU and the standby"`
	CheckTimeout     actions.Duration    `json:"check_timeout" min:">0" default:"20s" doc:"longest one machine's check may take before it counts as failed"`
	FailureThreshold int                 `json:"failure_threshold" min:"1" default:"3" doc:"consecutive failed checks that make failover active (or the standby lost)"`
	Exclude          []string            `json:"exclude" doc:"find patterns left out of the sync: a bare name matches at any depth, a pattern with / is anchored at the workspace; default .cache, __pycache__, *.tmp; [] for none"`
	ReadyTimeout     actions.Duration    `json:"ready_timeout" min:">0" default:"10m" doc:"how long the standby machine may take to answer SSH"`
	Path             string              `json:"path" doc:"folder to keep in sync on the GPU, absolute or relative to its workspace; default: its workspace"`
	StandbyPath      string              `json:"standby_path" doc:"where the standby keeps the copy, absolute or relative to its workspace; default: the same place in its workspace as path is in the GPU's"`
}

// Validate implements actions.Validator.
func (p *CreateParams) Validate() error {
	// failure_threshold and the durations: their range tags; offer and
	// machine_type: ParamGroups.
	if p.Exclude != nil {
		return standby.CheckExclude(p.Exclude)
	}
	return nil
}

// ParamGroups implements actions.Grouper.
func (p *CreateParams) ParamGroups() []actions.Group {
	return []actions.Group{{Rule: actions.AtMostOne, Params: []string{"offer", "machine_type"}}}
}

// CreateOutputs are the outputs of standby.create.
type CreateOutputs struct {
	ID           string    `json:"id" doc:"the standby instance's id (give it, or ${{ steps.<id> }}, to standby.status and failover.restore)"`
	Provider     string    `json:"provider" doc:"provider that runs the standby"`
	Label        string    `json:"label" doc:"scn-<run-id>-<step-id>"`
	Host         string    `json:"host" doc:"the standby's SSH host"`
	Port         int       `json:"port" doc:"the standby's SSH port"`
	User         string    `json:"user" doc:"the standby's SSH user"`
	Workspace    string    `json:"workspace" doc:"folder holding the copy on the standby (files.verify dir:)"`
	GPU          string    `json:"gpu" doc:"id of the GPU followed"`
	GPUWorkspace string    `json:"gpu_workspace" doc:"folder synced on the GPU"`
	State        string    `json:"state" doc:"syncing"`
	SyncCount    int       `json:"sync_count" doc:"syncs done (1: the first, full one)"`
	FileCount    int       `json:"file_count" doc:"regular files in the standby's copy"`
	Bytes        int64     `json:"bytes" doc:"their total size"`
	LastSyncAt   time.Time `json:"last_sync_at" doc:"when the last sync started listing the GPU"`
	Price        float64   `json:"price" doc:"the standby's USD per hour"`
	Simulated    bool      `json:"simulated" doc:"price is simulated (local target)"`
	ReadySeconds float64   `json:"ready_seconds" doc:"seconds until the standby answered SSH"`
	SyncSeconds  float64   `json:"sync_seconds" doc:"seconds the first sync took"`
	SyncFiles    int       `json:"sync_files" doc:"entries (files, folders, links) the first sync copied"`
	SyncBytes    int64     `json:"sync_bytes" doc:"bytes of the first sync's tar stream"`
	MBPerSec     float64   `json:"mb_per_s" doc:"the first sync's rate, MB/s"`
	SyncVia      string    `json:"sync_via" doc:"how the first sync's bytes went: agent (GPU → store → standby, by the machines' agents) or scn (through scn over SSH)"`
	SyncSCNBytes int64     `json:"sync_scn_bytes" doc:"bytes of the first sync that passed through scn's process (0 via the agents)"`
}

// Transfer implements actions.TransferReport: the first, full sync.
func (o *CreateOutputs) Transfer() journal.Transfer {
	return journal.Transfer{Kind: "sync", ID: o.ID, Files: o.SyncFiles, BytesStream: o.SyncBytes,
		Seconds: o.SyncSeconds, MBPerSec: o.MBPerSec, Via: o.SyncVia, SCNBytes: o.SyncSCNBytes}
}

// Create rents a CPU standby and keeps it in sync with a GPU.
var Create = actions.Define(actions.Info{
	Name:    "standby.create",
	Summary: "rent a CPU standby that keeps a near-live copy of a GPU's workspace and watches the GPU",
	Doc: `Rents a machine from the target's standby provider (cheapest CPU offer unless
offer or machine_type says), copies the GPU's workspace onto it before the
step ends, then keeps it in sync and watches the GPU for the rest of the run.

Sync (every sync_interval): both sides are listed with GNU find; only new or
changed files (size, mtime, permissions) travel, as one tar stream through
scn; what the GPU deleted or renamed is deleted on the standby. Excluded
patterns are never copied nor deleted.

Health (every check_interval): the provider's status, an SSH probe, and a
scan of the GPU's files changed since the last sync (standby.status
pending_files: what a failure now would lose). After failure_threshold
failed checks in a row the association is failover_active: syncing stops and
the standby holds the data for failover.restore. The standby is checked too:
if it dies the state is standby_lost and standby.status fails saying so.

The standby machine is destroyed at the end of the run (unless keep: true);
the sync and checks stop before that.`,
	Example: "- id: standby\n  action: standby.create\n  with: { gpu: \"${{ steps.gpu }}\", sync_interval: 30s, check_interval: 10s }",
	Creates: "standby",
	Paid:    true,
	Needs:   []string{target.NeedStandby},
}, func(ctx context.Context, env *actions.Env, p *CreateParams) (*CreateOutputs, error) {
	if env.Target == nil || env.Target.Standby == nil {
		return nil, errors.New("target has no standby provider")
	}
	reg, err := standby.RunRegistry(env.Shared)
	if err != nil {
		return nil, err
	}
	gpu, err := env.Running(ctx, p.GPU) // before renting anything
	if err != nil {
		return nil, fmt.Errorf("the GPU to follow: %w", err)
	}
	gpuDir, err := standby.Dir(gpu, p.Path)
	if err != nil {
		return nil, err
	}
	prov := env.Target.Standby
	offers, err := p.offers(ctx, prov)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	sb, _, err := env.Rent(ctx, prov, offers, rent.Options{Kind: "standby", Race: 1, ReadyTimeout: p.ReadyTimeout.Duration})
	if err != nil {
		return nil, err
	}
	ready := readySince(sb, start).Seconds()
	sbDir, err := standby.StandbyDir(gpu, sb, gpuDir, p.StandbyPath)
	if err != nil {
		return nil, err
	}
	if err := recordRelay(env, sb.ID); err != nil {
		return nil, err
	}
	env.Logf("first sync of %s on GPU %s to %s on standby %s", gpuDir, gpu.ID, sbDir, sb.ID)
	reach := standby.Reach{Target: env.Target, Connect: env.Connect, Probe: env.Probe}
	opts := standby.Options{
		SyncInterval: p.SyncInterval.Duration, CheckInterval: p.CheckInterval.Duration,
		CheckTimeout: p.CheckTimeout.Duration, FailureThreshold: p.FailureThreshold, Exclude: p.Exclude,
		Log:      logTo(env, sb.ID),
		Progress: func(n int64) { env.Transfer("first sync to the standby", n, -1) },
		// The increments go GPU → store → standby by the agents when the
		// target has both; otherwise through scn.
		Agent: env.Target.Agent, Store: env.Target.Store,
		// What each copy moves is on the machines' bills as it moves,
		// for the life of the association, whichever step it runs in.
		Moved: env.Moved,
	}
	if reg.Adjust != nil {
		reg.Adjust(&opts)
	}
	a, err := standby.Start(ctx, reach.Machine(gpu, gpuDir), reach.Machine(sb, sbDir), opts)
	if err != nil {
		// The standby machine is destroyed by its undo, and what the failed
		// first sync left in the store by the relay's.
		return nil, err
	}
	// An early undo: the loops stop before any machine is destroyed at the
	// end (the standby, but also GPUs created later), so the cleanup does
	// not read as failed health checks.
	env.Undo.PushEarly(env.Step, "stop syncing standby "+sb.ID, a.Stop)
	reg.Add(a)

	// The first sync's own figures: a background sync may have ended
	// since (a short sync_interval).
	st, first := a.Status(), a.FirstSync()
	out := &CreateOutputs{ID: sb.ID, Provider: sb.Provider, Label: sb.Label, Host: sb.Host, Port: sb.Port, User: sb.User,
		Workspace: sbDir, GPU: gpu.ID, GPUWorkspace: gpuDir, State: st.State, SyncCount: st.SyncCount,
		FileCount: st.Files, Bytes: st.Bytes, LastSyncAt: st.LastSyncAt.UTC(), Price: sb.PricePerHour, Simulated: sb.Simulated,
		ReadySeconds: ready, SyncSeconds: first.Seconds, SyncFiles: first.Files, SyncBytes: first.Bytes,
		MBPerSec: first.MBPerSec(), SyncVia: first.Via, SyncSCNBytes: first.SCNBytes}
	env.Logf("standby %s holds %s (%s) of GPU %s; syncing every %s, checking every %s",
		sb.ID, plural.Count(st.Files, "file"), units.Bytes(st.Bytes), gpu.ID, p.SyncInterval.Or(standby.DefaultSyncInterval), p.CheckInterval.Or(standby.DefaultCheckInterval))
	return out, nil
})

// recordRelay records the store folder a standby's increments pass
// through (snap.RelayPrefix) as a resource of its own, before the first
// sync may write there, when the target can relay (an agent and a store).
// What a relay leaves in it is billed (an upload whose abort failed, the
// versions of a delete that failed), so the folder is purged by the
// record's undo — at the end of the run, after the sync stopped, or at
// once when the first sync fails — with the undo's retries, and when that
// fails too the ledger keeps it for `scn cleanup`. It is never kept with
// the standby: nothing syncs after the run.
func recordRelay(env *actions.Env, standbyID string) error {
	st := env.Target.Store
	if env.Target.Agent == nil || st == nil {
		return nil
	}
	pend, err := env.Resources.Begin(resource.Spec{Step: env.Step, Kind: "relay", Provider: "store",
		Label: standbyID, Detail: snap.RelayPrefix(standbyID)})
	if err != nil {
		return err
	}
	pend.Created(standbyID, 0, false, nil, func(ctx context.Context, _ string) error {
		_, err := snap.DeleteRelay(ctx, st, standbyID)
		return err
	})
	return nil
}

// Price implements actions.Pricer: the dearest of the standby offers it
// may try — the ones Run would choose from (offers), the first of them and
// cloud.DefaultFallback more.
func (p *CreateParams) Price(ctx context.Context, pc actions.PriceContext) actions.Price {
	if pc.Standby == nil {
		return actions.Price{Reason: "price unknown"}
	}
	offers, err := p.offers(ctx, pc.Standby)
	if err != nil {
		return actions.Price{Reason: "price unknown (no offers to look at)"}
	}
	return actions.Dearest(offers[:min(len(offers), 1+cloud.DefaultFallback)])
}

// offers lists the standby offers to try, best first: the one given, the
// machine type asked for, or the provider's CPU offers, cheapest first.
func (p *CreateParams) offers(ctx context.Context, prov cloud.Provider) ([]cloud.Offer, error) {
	if p.Offer != nil {
		return []cloud.Offer{*p.Offer}, nil
	}
	all, err := prov.Offers(ctx, cloud.OfferQuery{GPU: p.MachineType, Order: "price"})
	if err != nil {
		return nil, fmt.Errorf("searching standby offers on %s: %w", prov.Name(), err)
	}
	var cpu []cloud.Offer
	for _, o := range all {
		if o.NumGPUs == 0 {
			cpu = append(cpu, o)
		}
	}
	if len(cpu) == 0 {
		cpu = all // a provider that only has GPU machines: the cheapest will do
	}
	if len(cpu) == 0 {
		what := "offer"
		if p.MachineType != "" {
			what = p.MachineType + " offer"
		}
		return nil, fmt.Errorf("no %s on the standby provider %s", what, prov.Name())
	}
	sort.SliceStable(cpu, func(i, j int) bool { return cpu[i].PricePerHour < cpu[j].PricePerHour })
	return cpu, nil
}

// readySince is how long after start the instance first answered SSH
// (its ReadyAt), or until now when the provider path did not say.
func readySince(inst *cloud.Instance, start time.Time) time.Duration {
	if inst.ReadyAt.IsZero() {
		return time.Since(start)
	}
	return inst.ReadyAt.Sub(start)
}

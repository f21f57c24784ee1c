package standby

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/standby"
	"github.com/scnlabs/scn/internal/units"
)

// SyncParams are the parameters of standby.sync.
type SyncParams struct {
	ID actions.StandbyRef `json:"id" alias:"standby,on" required:"true" doc:"the standby: its id or ${{ steps.standby }}"`
}

// SyncOutputs are the outputs of standby.sync.
type SyncOutputs struct {
	ID           string    `json:"id" doc:"the standby"`
	GPU          string    `json:"gpu" doc:"the GPU synced from"`
	At           time.Time `json:"at" doc:"when the sync started"`
	CopiedFiles  int       `json:"copied_files" doc:"entries copied (new or changed files, folders, links)"`
	Bytes        int64     `json:"bytes" doc:"bytes of the tar stream"`
	Via          string    `json:"via" doc:"how they went: agent (GPU → store → standby, by the machines' agents) or scn (through scn over SSH); empty when nothing changed"`
	SCNBytes     int64     `json:"scn_bytes" doc:"bytes that passed through scn's process (0 via the agents)"`
	DeletedFiles int       `json:"deleted_files" doc:"paths deleted on the standby (gone or renamed on the GPU)"`
	Seconds      float64   `json:"seconds" doc:"time the sync took"`
	MBPerSec     float64   `json:"mb_per_s" doc:"rate of the stream, MB/s"`
	SyncCount    int       `json:"sync_count" doc:"successful syncs so far"`
	State        string    `json:"state" doc:"the association's state after the sync"`
}

// Transfer implements actions.TransferReport.
func (o *SyncOutputs) Transfer() journal.Transfer {
	return journal.Transfer{Kind: "sync", ID: o.ID, Files: o.CopiedFiles, BytesStream: o.Bytes, Seconds: o.Seconds, MBPerSec: o.MBPerSec,
		Via: o.Via, SCNBytes: o.SCNBytes}
}

// Sync forces a sync now.
var Sync = actions.Define(actions.Info{
	Name:    "standby.sync",
	Summary: "sync a standby from its GPU now and report what moved",
	Doc: `Runs one sync cycle at once (waiting for a background one in flight, never
overlapping it): only what changed on the GPU since the standby's copy
travels. Useful to make sure files just written are on the standby before
killing the GPU. Fails when failover is active (the GPU is gone) or the
standby was lost.`,
	Example: "- id: sync\n  action: standby.sync\n  with: { id: \"${{ steps.standby }}\" }\n  expect: [ \"copied_files >= 1\" ]",
}, func(ctx context.Context, env *actions.Env, p *SyncParams) (*SyncOutputs, error) {
	a, err := standby.Find(env.Shared, p.ID.ID)
	if err != nil {
		return nil, err
	}
	c, err := a.Sync(ctx, func(n int64) { env.Transfer("syncing the standby", n, -1) })
	if err != nil {
		return nil, fmt.Errorf("standby %s: %w", a.StandbyID(), err)
	}
	st := a.Status()
	env.Logf("synced %s (stream %s, via %s) from GPU %s, deleted %d, in %.2fs (%s)", plural.Count(c.Files, "entry"), units.Bytes(c.Bytes), cmp.Or(c.Via, "-"), c.GPU, c.Deleted,
		c.Seconds, units.Rate(c.MBPerSec()))
	return &SyncOutputs{ID: a.StandbyID(), GPU: c.GPU, At: c.At.UTC(), CopiedFiles: c.Files, Bytes: c.Bytes, Via: c.Via, SCNBytes: c.SCNBytes, DeletedFiles: c.Deleted,
		Seconds: c.Seconds, MBPerSec: c.MBPerSec(), SyncCount: st.SyncCount, State: st.State}, nil
})

// ResourceKind implements actions.Resource: the id is the standby's.
func (SyncOutputs) ResourceKind() string { return "standby" }

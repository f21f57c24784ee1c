// Package failover holds failover.restore: move a CPU standby's copy of a
// dead GPU's workspace onto a new GPU, prove every file arrived intact
// (MD5 on both machines), and make the standby follow the new GPU.
package failover

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/md5check"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/standby"
	"github.com/scnlabs/scn/internal/units"
)

// RestoreParams are the parameters of failover.restore.
type RestoreParams struct {
	Standby actions.StandbyRef  `json:"standby" alias:"id" required:"true" doc:"the standby holding the copy: its id or ${{ steps.standby }}"`
	To      actions.InstanceRef `json:"to" alias:"on" required:"true" doc:"the new GPU: an id or ${{ steps.gpu2 }}"`
	Path    string              `json:"path" doc:"folder to restore into on the new GPU, absolute or relative to its workspace; default: its workspace"`
	Verify  bool                `json:"verify" default:"true" doc:"compare every file's MD5 on the new GPU with the standby's; a mismatch fails the step and the standby keeps waiting"`
}

// RestoreOutputs are the outputs of failover.restore.
type RestoreOutputs struct {
	StandbyID   string   `json:"standby" doc:"the standby the copy came from"`
	GPU         string   `json:"gpu" doc:"the new GPU"`
	Workspace   string   `json:"workspace" doc:"folder restored on the new GPU"`
	FileCount   int      `json:"file_count" doc:"regular files restored"`
	Bytes       int64    `json:"bytes" doc:"bytes of the tar stream"`
	Via         string   `json:"via" doc:"how they went: agent (standby → store → new GPU, by the machines' agents) or scn (through scn over SSH)"`
	SCNBytes    int64    `json:"scn_bytes" doc:"bytes that passed through scn's process (0 via the agents)"`
	Seconds     float64  `json:"seconds" doc:"time the copy took (verification not included)"`
	MBPerSec    float64  `json:"mb_per_s" doc:"rate of the stream, MB/s"`
	Verified    bool     `json:"verified" doc:"every file's MD5 on the new GPU matches the standby's (false when verify: false)"`
	Checked     int      `json:"checked" doc:"files whose MD5 was compared"`
	Valid       int      `json:"valid" doc:"files that matched"`
	Missing     []string `json:"missing" doc:"files absent on the new GPU"`
	Mismatched  []string `json:"mismatched" doc:"files whose MD5 differs on the new GPU"`
	MTTRSeconds float64  `json:"mttr_seconds" doc:"failure detected → restored and verified; 0 when no failure was detected (a planned move)"`
	Planned     bool     `json:"planned" doc:"the old GPU had not failed: it was synced one last time and the standby moved on"`

	StandbyState      string  `json:"state" doc:"the association's state: restored, then syncing from the new GPU"`
	DetectionSeconds  float64 `json:"detection_seconds" doc:"as standby.status: how long the old GPU was dead before scn noticed"`
	DataAtRiskSeconds float64 `json:"data_at_risk_seconds" doc:"as standby.status: work only the old GPU had"`
	LostFiles         int     `json:"lost_files" doc:"as standby.status: files written after the last sync, lost with the old GPU"`

	status   standby.Status
	report   *md5check.Report
	provider string // of the new GPU
}

// Restored implements actions.RestoredData: the new GPU's workspace.
func (o *RestoreOutputs) Restored() (actions.InstanceRef, string, bool) {
	return actions.InstanceRef{ID: o.GPU, Provider: o.provider}, o.Workspace, o.GPU != "" && o.FileCount > 0
}

// Transfer implements actions.TransferReport.
func (o *RestoreOutputs) Transfer() journal.Transfer {
	return journal.Transfer{Kind: "failover", ID: o.StandbyID, Files: o.FileCount, BytesStream: o.Bytes, Seconds: o.Seconds, MBPerSec: o.MBPerSec,
		Via: o.Via, SCNBytes: o.SCNBytes}
}

// Standby implements actions.StandbyReport: the association after the move.
func (o *RestoreOutputs) Standby() journal.Standby {
	if o.status.Standby == "" {
		return journal.Standby{ID: o.StandbyID}
	}
	return o.status.Journal()
}

// Validation implements actions.ValidationReport: no verdict without
// verification.
func (o *RestoreOutputs) Validation() (journal.Validation, bool) {
	if o.report == nil {
		return journal.Validation{}, false
	}
	if o.report.Total == 0 {
		return journal.Validation{Success: true}, true // an empty workspace restored: nothing could differ
	}
	return o.report.Validation(), true
}

// Restore moves a standby's copy onto a new GPU.
var Restore = actions.Define(actions.Info{
	Name:    "failover.restore",
	Summary: "move a standby's copy of the workspace onto a new GPU, verify every MD5, and follow the new GPU",
	Doc: `Streams the standby's copy (tar on the standby → scn → tar on the new GPU),
then hashes every file with md5sum on both machines and compares (verify:
true, the default). If every file matches, the standby follows the new GPU:
state restored, then syncing again from the next cycle. If not, the step
fails naming the files and the standby keeps waiting for another try.

mttr_seconds runs from the standby's own detection of the failure (its
health checks, not when a standby.status step happened to look) to the
copy verified on the new GPU. Restoring while the old GPU is still
alive is a planned move: it is synced one last time first, and MTTR is 0.`,
	Example: "- id: failover\n  action: failover.restore\n  with: { standby: \"${{ steps.standby }}\", to: \"${{ steps.gpu2 }}\" }\n  expect: [ \"verified\" ]",
}, func(ctx context.Context, env *actions.Env, p *RestoreParams) (*RestoreOutputs, error) {
	a, err := standby.Find(env.Shared, p.Standby.ID)
	if err != nil {
		return nil, err
	}
	inst, err := env.Running(ctx, p.To)
	if err != nil {
		return nil, fmt.Errorf("the new GPU: %w", err)
	}
	if inst.ID == a.StandbyID() {
		return nil, errors.New("to is the standby itself: give the new GPU")
	}
	dir, err := standby.Dir(inst, p.Path)
	if err != nil {
		return nil, err
	}
	var rep *md5check.Report
	var verify standby.VerifyFunc
	if p.Verify {
		verify = verifier(a.Standby().Dir, dir, &rep)
	}
	reach := standby.Reach{Target: env.Target, Connect: env.Connect, Probe: env.Probe}
	mv, err := a.Restore(ctx, reach.Machine(inst, dir), verify,
		func(n int64) { env.Transfer("restoring from the standby", n, -1) })
	st := a.Status()
	out := &RestoreOutputs{StandbyID: a.StandbyID(), GPU: inst.ID, Workspace: dir, FileCount: mv.Files, Bytes: mv.Bytes, Via: mv.Via, SCNBytes: mv.SCNBytes,
		Seconds: mv.Seconds, MBPerSec: mv.MBPerSec(), Missing: []string{}, Mismatched: []string{},
		MTTRSeconds: mv.MTTR.Seconds(), Planned: mv.Planned, StandbyState: st.State,
		DetectionSeconds: st.Detection.Seconds(), DataAtRiskSeconds: st.DataAtRisk.Seconds(), LostFiles: len(st.Lost),
		status: st, report: rep, provider: inst.Provider}
	if rep != nil {
		out.fill(rep)
		for _, line := range rep.Lines() {
			env.Logf("%s", line)
		}
	}
	if err != nil {
		return out, fmt.Errorf("failover from standby %s to GPU %s: %w", a.StandbyID(), inst.ID, err)
	}
	env.Logf("restored %s (stream %s) from standby %s onto GPU %s in %.1fs (%s)",
		plural.Count(out.FileCount, "file"), units.Bytes(out.Bytes), out.StandbyID, out.GPU, out.Seconds, units.Rate(out.MBPerSec))
	if mv.Planned {
		env.Logf("no failure was detected (the old GPU was alive): a planned move, MTTR not measured")
	} else {
		env.Logf("MTTR %.1fs from failure detection to the verified copy on GPU %s", out.MTTRSeconds, inst.ID)
	}
	return out, nil
})

// fill copies a verification's verdict into the outputs.
func (o *RestoreOutputs) fill(r *md5check.Report) {
	o.Verified, o.Checked, o.Valid = r.Total == r.Valid, r.Total, r.Valid
	o.Missing, o.Mismatched = r.Paths(md5check.Missing), r.Paths(md5check.Mismatch)
}

// verifier hashes the restored files on the standby (the reference) and
// checks them on the new GPU, both with md5check (files.verify's checker);
// *rep receives the verdict.
func verifier(standbyDir, gpuDir string, rep **md5check.Report) standby.VerifyFunc {
	return func(ctx context.Context, from, to remote.Execer, rel []string) error {
		if len(rel) == 0 {
			*rep = &md5check.Report{}
			return nil
		}
		abs := make([]string, len(rel))
		for i, r := range rel {
			abs[i] = path.Join(standbyDir, r)
		}
		got, err := md5check.Inspect(ctx, from, abs)
		if err != nil {
			return fmt.Errorf("hashing the standby's copy: %w", err)
		}
		want := make([]md5check.Want, len(rel))
		for i, g := range got {
			if g.State != md5check.StateOK {
				return fmt.Errorf("the standby's %s is %s while it was being restored", abs[i], g.State)
			}
			want[i] = md5check.Want{Path: path.Join(gpuDir, rel[i]), MD5: g.MD5}
		}
		r, err := md5check.Check(ctx, to, want)
		if err != nil {
			return err
		}
		*rep = r
		return r.Err()
	}
}

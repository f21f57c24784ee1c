package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	snap "github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/units"
)

// ParamTypeName implements actions.TypeNamer.
func (Ref) ParamTypeName() string { return "snapshot" }

// RefersTo implements actions.Referrer.
func (Ref) RefersTo() []string { return []string{"snapshot"} }

// RestoreParams are the parameters of snapshot.restore.
type RestoreParams struct {
	Snapshot Ref                 `json:"snapshot" required:"true" doc:"snapshot name, or ${{ steps.snap }}"`
	On       actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"the instance to restore onto"`
	Path     string              `json:"path" doc:"directory to restore into (default: the instance's workspace)"`
	Verify   bool                `json:"verify" default:"true" doc:"read every restored file back on the instance and compare its hash with the manifest"`
}

// RestoreOutputs are the outputs of snapshot.restore.
type RestoreOutputs struct {
	Snapshot    string   `json:"snapshot" doc:"the snapshot restored"`
	FileCount   int      `json:"file_count" doc:"regular files restored (hard links not counted: see hardlinks)"`
	Hardlinks   int      `json:"hardlinks" doc:"hard links restored, each as a link to its file"`
	BytesFiles  int64    `json:"bytes_files" doc:"size of the files' contents restored"`
	BytesStream int64    `json:"bytes_stream" doc:"size of the uncompressed tar stream read and extracted"`
	Seconds     float64  `json:"seconds" doc:"time to fetch, check and extract"`
	MBPerS      float64  `json:"mb_per_s" doc:"bytes_stream / 10⁶ / seconds: MB/s"`
	Valid       int      `json:"valid" doc:"regular files whose hash on the instance matches the manifest (at most file_count)"`
	LinksValid  int      `json:"links_valid" doc:"hard links whose content on the instance matches the manifest (at most hardlinks)"`
	Mismatched  []string `json:"mismatched" doc:"files and links whose hash differs"`
	Missing     []string `json:"missing" doc:"files and links absent after the restore"`
	Via         string   `json:"via" doc:"how the bytes went: agent (straight from the store to the instance) or scn (through scn over SSH)"`
	SCNBytes    int64    `json:"scn_bytes" doc:"bytes of the tar stream that passed through scn's process (0 via the agent)"`
	checked     bool
	on          actions.InstanceRef // where the files landed
	dir         string
}

// Restored implements actions.RestoredData.
func (o *RestoreOutputs) Restored() (actions.InstanceRef, string, bool) {
	return o.on, o.dir, o.dir != "" && o.FileCount > 0
}

// Transfer implements actions.TransferReport.
func (o *RestoreOutputs) Transfer() journal.Transfer {
	return journal.Transfer{Kind: "restore", ID: o.Snapshot, Files: o.FileCount, BytesFiles: o.BytesFiles, BytesStream: o.BytesStream, Seconds: o.Seconds, MBPerSec: o.MBPerS,
		Via: o.Via, SCNBytes: o.SCNBytes}
}

// Validation implements actions.ValidationReport: a verdict only when
// verify was on.
func (o *RestoreOutputs) Validation() (journal.Validation, bool) {
	if !o.checked {
		return journal.Validation{}, false
	}
	v := journal.Validation{Total: o.FileCount, Valid: o.Valid, Links: o.Hardlinks, LinksValid: o.LinksValid,
		Missing: len(o.Missing), Mismatched: len(o.Mismatched)}
	v.Success = v.Valid == v.Total && v.LinksValid == v.Links && v.Missing+v.Mismatched == 0
	for _, p := range o.Missing {
		v.Failures = append(v.Failures, journal.FileFailure{Path: p, Problem: "missing"})
	}
	for _, p := range o.Mismatched {
		v.Failures = append(v.Failures, journal.FileFailure{Path: p, Problem: "mismatch"})
	}
	return v, true
}

// Restore streams a snapshot onto an instance and verifies it.
var Restore = actions.Define(actions.Info{
	Name:    "snapshot.restore",
	Summary: "restore a snapshot onto an instance, refusing hostile entries, then verify every file's hash there",
	Doc: "Entries with absolute paths, `..`, links pointing outside the target, devices or FIFOs are refused before a " +
		"byte of them lands; every entry must match the manifest. The archive is extracted into a staging directory " +
		"and moved into place only when the whole stream checked out, so a corrupted or truncated snapshot fails " +
		"loudly and leaves the target as it was. scn's agent on the instance reads the data straight from the store " +
		"(presigned ranged GETs) and, with verify, reads every file back in the staging directory before the move; " +
		"through scn, `md5sum` (or, for an xxh3-128 snapshot, reading the files back) runs after it. Any difference " +
		"fails the step, naming the files. `via` tells how the bytes went.",
	Example: "- id: restore\n  action: snapshot.restore\n  with: { snapshot: \"${{ steps.snap.id }}\", on: \"${{ steps.gpu_b }}\" }\n  expect: [ \"valid == file_count\" ]",
	Needs:   []string{target.NeedStore},
}, func(ctx context.Context, env *actions.Env, p *RestoreParams) (*RestoreOutputs, error) {
	x, inst, err := env.Exec(ctx, p.On)
	if err != nil {
		return nil, err
	}
	st := env.Target.Store
	if st == nil {
		return nil, errors.New("target has no store for snapshots")
	}
	m, err := snap.ReadManifest(ctx, st, p.Snapshot.Name)
	if err != nil {
		return nil, err
	}
	dir := cmp.Or(p.Path, inst.Workspace)
	res, err := snap.Restore(ctx, snap.RestoreOptions{Exec: x, Store: st, Name: p.Snapshot.Name, Path: dir, Verify: p.Verify,
		Instance: inst.ID, Progress: func(done int64) { env.Transfer("restore "+p.Snapshot.Name, done, m.BytesRaw) },
		Agent: env.Target.Agent, Notice: func(line string) { env.Logf("%s", line) }, Moved: env.Moved(inst.ID)})
	if errors.Is(err, snap.ErrDamaged) {
		return nil, actions.Verification(err) // the restore's own check saw it
	}
	if err != nil {
		return nil, err
	}
	out := &RestoreOutputs{Snapshot: p.Snapshot.Name, FileCount: res.Files, Hardlinks: res.Hardlinks, BytesFiles: res.BytesFiles, BytesStream: res.BytesStream, Seconds: res.Seconds,
		MBPerS: res.MBPerSec, Valid: res.Verified, LinksValid: res.LinksVerified, Mismatched: orEmpty(res.Mismatched), Missing: orEmpty(res.Missing), checked: p.Verify,
		Via: res.Transport.Via, SCNBytes: res.Transport.SCNBytes, on: actions.InstanceRef{ID: inst.ID, Provider: inst.Provider}, dir: dir}
	env.Logf("restored %s onto %s:%s: %s (%s), stream %s in %.1fs (%s), via %s", out.Snapshot, inst.ID, dir, plural.Count(out.FileCount, "file"),
		units.Bytes(out.BytesFiles), units.Bytes(out.BytesStream), out.Seconds, units.Rate(out.MBPerS), out.Via)
	if !p.Verify {
		return out, nil
	}
	if out.Hardlinks > 0 {
		env.Logf("Files validated: %d/%d, hard links %d/%d", out.Valid, out.FileCount, out.LinksValid, out.Hardlinks)
	} else {
		env.Logf("Files validated: %d/%d", out.Valid, out.FileCount)
	}
	if bad := len(out.Missing) + len(out.Mismatched); bad > 0 {
		var parts []string
		if len(out.Missing) > 0 {
			parts = append(parts, "missing: "+list(out.Missing))
		}
		if len(out.Mismatched) > 0 {
			parts = append(parts, "hash mismatch: "+list(out.Mismatched))
		}
		return out, actions.Verification(fmt.Errorf("restore of %s onto %s: %d of %d files did not come back intact; %s",
			out.Snapshot, inst.ID, bad, out.FileCount, strings.Join(parts, "; ")))
	}
	return out, nil
})

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func list(paths []string) string {
	if len(paths) > 10 {
		return strings.Join(paths[:10], ", ") + fmt.Sprintf(" and %d more", len(paths)-10)
	}
	return strings.Join(paths, ", ")
}

// ListParams are the parameters of snapshot.list.
type ListParams struct {
	Pattern string `json:"pattern" default:"*" doc:"glob on snapshot names, e.g. test-snapshot-*"`
}

// ListOutputs are the outputs of snapshot.list.
type ListOutputs struct {
	Snapshots []snap.Info `json:"snapshots" doc:"snapshots whose name matches, by name"`
	Count     int         `json:"count" doc:"len(snapshots)"`
}

// List lists the snapshots in the store.
var List = actions.Define(actions.Info{
	Name:    "snapshot.list",
	Summary: "list the snapshots in the target's store (only names with a manifest)",
	Example: "- id: snaps\n  action: snapshot.list\n  with: { pattern: \"scn-*\" }",
	Needs:   []string{target.NeedStore},
}, func(ctx context.Context, env *actions.Env, p *ListParams) (*ListOutputs, error) {
	if _, err := path.Match(p.Pattern, ""); err != nil {
		return nil, fmt.Errorf("pattern %q: %w", p.Pattern, err)
	}
	infos, err := snap.List(ctx, env.Target.Store, p.Pattern)
	if err != nil {
		return nil, err
	}
	if infos == nil {
		infos = []snap.Info{}
	}
	return &ListOutputs{Snapshots: infos, Count: len(infos)}, nil
})

// DeleteParams are the parameters of snapshot.delete.
type DeleteParams struct {
	ID      string `json:"id" doc:"snapshot name to delete"`
	Pattern string `json:"pattern" doc:"delete every snapshot whose name matches this glob"`
}

// Validate implements actions.Validator.
func (p *DeleteParams) Validate() error {
	if p.Pattern != "" {
		if _, err := path.Match(p.Pattern, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p.Pattern, err)
		}
	}
	return nil
}

// ParamGroups implements actions.Grouper.
func (p *DeleteParams) ParamGroups() []actions.Group {
	return []actions.Group{{Rule: actions.ExactlyOne, Params: []string{"id", "pattern"}}}
}

// DeleteOutputs are the outputs of snapshot.delete.
type DeleteOutputs struct {
	Deleted []string `json:"deleted" doc:"names deleted"`
	Count   int      `json:"count" doc:"len(deleted)"`
}

// Delete deletes snapshots by name or pattern.
var Delete = actions.Define(actions.Info{
	Name:    "snapshot.delete",
	Summary: "delete snapshots by name or glob pattern (manifest first, then data)",
	Example: "- action: snapshot.delete\n  with: { pattern: \"test-snapshot-*\" }",
	Needs:   []string{target.NeedStore},
}, func(ctx context.Context, env *actions.Env, p *DeleteParams) (*DeleteOutputs, error) {
	names := []string{p.ID}
	if p.Pattern != "" {
		infos, err := snap.List(ctx, env.Target.Store, p.Pattern)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, i := range infos {
			names = append(names, i.Name)
		}
	}
	out := &DeleteOutputs{Deleted: []string{}}
	for _, n := range names {
		if h := env.Resources.Find("snapshot", n); h != nil {
			if err := h.Destroy(ctx, "user"); err != nil {
				return out, err
			}
		} else {
			if _, err := snap.Delete(ctx, env.Target.Store, n); err != nil {
				return out, err
			}
			_ = env.Resources.DestroyedElsewhere("store", n, "deleted by snapshot.delete")
		}
		out.Deleted = append(out.Deleted, n)
		env.Logf("deleted snapshot %s", n)
	}
	out.Count = len(out.Deleted)
	return out, nil
})

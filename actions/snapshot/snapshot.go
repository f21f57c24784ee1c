// Package snapshot holds the snapshot.* actions: move an instance's
// workspace (tar + LZ4) into the target's store with a manifest of every
// file's hash, restore it onto another instance and verify it there, list
// and delete snapshots. The pipeline itself is internal/snapshot; with the
// target's agent (internal/agentctl) the bytes go straight between the
// instance and the store, else through scn over SSH.
package snapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	snap "github.com/scnlabs/scn/internal/snapshot"
)

// CreateParams are the parameters of snapshot.create.
type CreateParams struct {
	On      actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"the instance to snapshot: ${{ steps.gpu }}"`
	Path    string              `json:"path" doc:"directory to snapshot (default: the instance's workspace)"`
	Name    string              `json:"name" doc:"snapshot name, unique in the store (default scn-<run-id>-<step-id>)"`
	Exclude []string            `json:"exclude" doc:"GNU tar --exclude patterns, e.g. ./.cache, *.tmp"`
	Keep    bool                `json:"keep" doc:"keep the snapshot after the run (same as the step's keep: true)"`
}

// CreateOutputs are the outputs of snapshot.create.
type CreateOutputs struct {
	ID          string  `json:"id" doc:"snapshot name (pass it to snapshot.restore)"`
	Key         string  `json:"key" doc:"store key of the data object"`
	Files       int     `json:"files" doc:"regular files in the snapshot"`
	BytesRaw    int64   `json:"bytes_raw" doc:"size of the tar stream"`
	BytesStored int64   `json:"bytes_stored" doc:"size stored (LZ4)"`
	Ratio       float64 `json:"ratio" doc:"bytes_raw / bytes_stored"`
	Seconds     float64 `json:"seconds" doc:"time to stream and store it"`
	MBPerS      float64 `json:"mb_per_s" doc:"bytes_raw / seconds, in MB/s"`
	Via         string  `json:"via" doc:"how the bytes went: agent (straight from the instance to the store) or scn (through scn over SSH)"`
	SCNBytes    int64   `json:"scn_bytes" doc:"bytes of the tar stream that passed through scn's process (0 via the agent)"`
}

// Transfer implements actions.TransferReport.
func (o *CreateOutputs) Transfer() journal.Transfer {
	return journal.Transfer{Kind: "snapshot", ID: o.ID, Files: o.Files, BytesRaw: o.BytesRaw,
		BytesStored: o.BytesStored, Ratio: o.Ratio, Seconds: o.Seconds, MBPerSec: o.MBPerS, Via: o.Via, SCNBytes: o.SCNBytes}
}

// Create snapshots a directory of an instance into the store.
var Create = actions.Define(actions.Info{
	Name:    "snapshot.create",
	Summary: "move an instance's workspace (tar + LZ4) to the store, with a manifest of every file's hash",
	Doc: "The data object `snapshots/<name>/data.tar.lz4` is written first, then `snapshots/<name>/manifest.json`: " +
		"a name without a manifest is not a snapshot. Nothing is staged on disk; memory stays bounded. The snapshot " +
		"is deleted at the end of the run unless kept. scn's agent on the instance uploads the bytes straight to the " +
		"store with short-lived presigned URLs (the store's keys stay with scn) and hashes each file with xxh3-128; " +
		"when no agent fits the instance, or the instance cannot reach the store, they stream through scn over SSH " +
		"(MD5) and the step says why. `via` tells which.",
	Example: "- id: snap\n  action: snapshot.create\n  with: { on: \"${{ steps.gpu }}\", exclude: [\"./.cache\"] }",
	Creates: "snapshot",
}, func(ctx context.Context, env *actions.Env, p *CreateParams) (*CreateOutputs, error) {
	x, inst, err := env.Exec(ctx, p.On)
	if err != nil {
		return nil, err
	}
	if env.Target.Store == nil {
		return nil, errors.New("target has no store for snapshots")
	}
	path := cmp.Or(p.Path, inst.Workspace)
	name := cmp.Or(p.Name, env.Label())
	if err := snap.ValidateName(name); err != nil {
		return nil, err
	}
	env.Keep = env.Keep || p.Keep
	pend, err := env.Begin("snapshot", "store", name, path)
	if err != nil {
		return nil, err
	}
	st := env.Target.Store
	remove := func(ctx context.Context, _ string) error { _, err := snap.Delete(ctx, st, name); return err } // the undo
	m, err := snap.Create(ctx, snap.CreateOptions{Exec: x, Path: path, Name: name, Exclude: p.Exclude, Store: st,
		Source: inst.ID, Progress: func(done int64) { env.Transfer("snapshot "+name, done, -1) },
		Agent: env.Target.Agent, Notice: func(line string) { env.Logf("%s", line) }})
	if err != nil {
		// A failed upload may leave a data object without a manifest: not
		// a snapshot, but bytes in the store. Remove them.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, derr := snap.Delete(cctx, st, name); derr != nil {
			// Leave it to the cleanup at the end (retried, reported, and in
			// the ledger for scn cleanup if that fails too).
			pend.Created(name, 0, false, map[string]string{"partial": "true"}, remove)
			return nil, fmt.Errorf("%w (removing the partial upload failed too: %v; the cleanup tries again)", err, derr)
		}
		pend.Failed(err)
		return nil, err
	}
	pend.Created(name, 0, false, map[string]string{"store": st.String()}, remove)
	out := &CreateOutputs{ID: name, Key: "snapshots/" + name + "/data.tar.lz4", Files: m.Counts.Files,
		BytesRaw: m.BytesRaw, BytesStored: m.BytesStored, Ratio: m.Ratio, Seconds: m.Seconds, Via: m.Transport.Via, SCNBytes: m.Transport.SCNBytes}
	if m.Seconds > 0 {
		out.MBPerS = float64(m.BytesRaw) / 1e6 / m.Seconds
	}
	env.Logf("snapshot %s: %s, %s raw → %s stored (ratio %.2f) in %.1fs (%.1f MB/s) into %s, via %s",
		name, plural.Count(out.Files, "file"), mb(out.BytesRaw), mb(out.BytesStored), out.Ratio, out.Seconds, out.MBPerS, st, out.Via)
	return out, nil
})

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// Ref names a snapshot: its name, or ${{ steps.snap }} (an object with id).
type Ref struct{ Name string }

// DecodeParam implements actions.ParamDecoder.
func (r *Ref) DecodeParam(v any) error {
	switch x := v.(type) {
	case string:
		r.Name = strings.TrimSpace(x)
	case map[string]any:
		id, _ := x["id"].(string)
		r.Name = id
	default:
		return fmt.Errorf("expected a snapshot name or ${{ steps.<id> }} of a snapshot.create step, got %s", actions.Describe(v))
	}
	if r.Name == "" {
		return errors.New("snapshot name is empty")
	}
	return snap.ValidateName(r.Name)
}

// ParamSchema implements actions.SchemaProvider.
func (Ref) ParamSchema() map[string]any {
	return map[string]any{"anyOf": []any{
		map[string]any{"type": "string", "minLength": 1},
		map[string]any{"type": "object", "required": []any{"id"}},
	}}
}

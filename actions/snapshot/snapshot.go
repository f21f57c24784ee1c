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
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/units"
)

// CreateParams are the parameters of snapshot.create.
type CreateParams struct {
	On      actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"the instance to snapshot: ${{ steps.gpu }}"`
	Path    string              `json:"path" doc:"directory to snapshot (default: the instance's workspace)"`
	Name    Name                `json:"name" doc:"snapshot name, unique in the store (default scn-<run-id>-<step-id>)"`
	Exclude []string            `json:"exclude" doc:"GNU tar --exclude patterns, e.g. ./.cache, *.tmp"`
	Keep    bool                `json:"keep" doc:"keep the snapshot after the run (same as the step's keep: true)"`
}

// CreateOutputs are the outputs of snapshot.create.
type CreateOutputs struct {
	ID          string  `json:"id" doc:"snapshot name (pass it to snapshot.restore)"`
	Key         string  `json:"key" doc:"store key of the data object"`
	FileCount   int     `json:"file_count" doc:"regular files in the snapshot"`
	BytesFiles  int64   `json:"bytes_files" doc:"size of the files' contents"`
	BytesStream int64   `json:"bytes_stream" doc:"size of the uncompressed tar stream (contents, headers, padding): what is compressed and timed"`
	BytesStored int64   `json:"bytes_stored" doc:"size stored (LZ4)"`
	Ratio       float64 `json:"ratio" doc:"bytes_stream / bytes_stored"`
	Seconds     float64 `json:"seconds" doc:"time to stream and store it"`
	MBPerS      float64 `json:"mb_per_s" doc:"bytes_stream / 10⁶ / seconds: MB/s"`
	Via         string  `json:"via" doc:"how the bytes went: agent (straight from the instance to the store) or scn (through scn over SSH)"`
	SCNBytes    int64   `json:"scn_bytes" doc:"bytes of the tar stream that passed through scn's process (0 via the agent)"`
}

// StoredObject implements actions.StoredData: the data object.
func (o *CreateOutputs) StoredObject() (string, bool) { return o.Key, o.Key != "" }

// Transfer implements actions.TransferReport.
func (o *CreateOutputs) Transfer() journal.Transfer {
	return journal.Transfer{Kind: "snapshot", ID: o.ID, Files: o.FileCount, BytesFiles: o.BytesFiles, BytesStream: o.BytesStream,
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
	Needs:   []string{target.NeedStore},
}, func(ctx context.Context, env *actions.Env, p *CreateParams) (*CreateOutputs, error) {
	x, inst, err := env.Exec(ctx, p.On)
	if err != nil {
		return nil, err
	}
	if env.Target.Store == nil {
		return nil, errors.New("target has no store for snapshots")
	}
	path := cmp.Or(p.Path, inst.Workspace)
	name := cmp.Or(string(p.Name), env.Label())
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
		Agent: env.Target.Agent, Notice: func(line string) { env.Logf("%s", line) }, Moved: env.Moved(inst.ID)})
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
	// Keeping the snapshot costs what the store charges for its bytes
	// (B2: hourly), an estimate from the store's price list.
	price := 0.0
	rates := env.Target.StoreRates
	if rates != nil {
		price = rates.PerHour(m.BytesStored)
	}
	h := pend.Created(name, price, false, map[string]string{"store": st.String()}, remove)
	if rates != nil {
		h.PriceFrom(rates.Source, true)
	}
	out := &CreateOutputs{ID: name, Key: "snapshots/" + name + "/data.tar.lz4", FileCount: m.Counts.Files,
		BytesFiles: m.BytesFiles, BytesStream: m.BytesRaw, BytesStored: m.BytesStored, Ratio: m.Ratio, Seconds: m.Seconds,
		MBPerS: units.MBPerSec(m.BytesRaw, m.Seconds), Via: m.Transport.Via, SCNBytes: m.Transport.SCNBytes}
	env.Logf("snapshot %s: %s (%s), stream %s → %s stored (ratio %.2f) in %.1fs (%s) into %s, via %s",
		name, plural.Count(out.FileCount, "file"), units.Bytes(out.BytesFiles), units.Bytes(out.BytesStream), units.Bytes(out.BytesStored), out.Ratio,
		out.Seconds, units.Rate(out.MBPerS), st, out.Via)
	return out, nil
})

// Name is the name snapshot.create gives a snapshot; "" for the default
// scn-<run-id>-<step-id>. Decoding applies snap.ValidateName, the rule the
// store applies, so a literal bad name is refused by scn validate at its
// line; a name must be new in the store, so the checker also refuses one
// literal name given to two snapshot.create steps (Unique).
type Name string

// DecodeParam implements actions.ParamDecoder.
func (n *Name) DecodeParam(v any) error {
	s, err := actions.TextParam(v, "a snapshot name")
	if err != nil {
		return err
	}
	if s = strings.TrimSpace(s); s != "" {
		if err := snap.ValidateName(s); err != nil {
			return actions.WithHint(err, "leave name out for the default scn-<run-id>-<step-id>, unique to the run and the step")
		}
	}
	*n = Name(s)
	return nil
}

// UniqueIn implements actions.Unique: snapshot names are the store's.
func (Name) UniqueIn() string { return "snapshot" }

// Releases implements actions.Releaser: a delete may free any name.
func (*DeleteParams) Releases() string { return "snapshot" }

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

package files

import (
	"context"
	"fmt"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/remote"
)

// CreateParams are the parameters of files.create.
type CreateParams struct {
	On     actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"instance to write on: an id or ${{ steps.<id> }} of instance.create"`
	Dir    Dir                 `json:"dir" doc:"absolute directory on the machine, created if missing; default: the instance's workspace"`
	Count  int                 `json:"count" min:"1" default:"3" doc:"number of files: <prefix>1.txt … <prefix><count>.txt"`
	Size   int64               `json:"size" min:"0" doc:"exact size of each file in bytes, padded after the text with random bytes unique to the file; 0 = the text only (about 100 bytes)"`
	Prefix Prefix              `json:"prefix" default:"test-file-" doc:"start of each file name (no '/': files go directly in dir)"`
	Save   actions.RunPath     `json:"save" doc:"local file to save the list to, a relative path under the run directory (.scn/runs/<id>/; scn do: the current directory) — an absolute path, or .. climbing out of it, is refused — as the seed's JSON [{path, content, md5, size}]; {id} becomes the instance id, e.g. failover_files_{id}.json"`
}

// Validate implements actions.Validator.
func (p *CreateParams) Validate() error {
	dir := string(p.Dir)
	if dir == "" {
		dir = "/" // the workspace, known once the instance is
	}
	return CreateOptions{Dir: dir, Count: p.Count, Size: p.Size, Prefix: string(p.Prefix)}.check()
}

// CreateOutputs are the outputs of files.create.
type CreateOutputs struct {
	Files   []File  `json:"files" doc:"the files written: path (absolute on the machine), rel (relative to dir), md5, size; give it to files.verify"`
	Count   int     `json:"count" doc:"number of files written"`
	Bytes   int64   `json:"bytes" doc:"total bytes written"`
	Dir     string  `json:"dir" doc:"directory the files are in"`
	Seconds float64 `json:"seconds" doc:"time to write and confirm them"`
	Saved   string  `json:"saved" doc:"absolute local path of the saved JSON list, when save was given"`
}

// Create writes test files with unique content on an instance.
var Create = actions.Define(actions.Info{
	Name:    "files.create",
	Summary: "write N files with unique content on an instance and record path, md5 and size",
	Doc: `Writes <prefix>1.txt … <prefix><count>.txt in dir (default: the instance's
workspace). Each file starts with the seed's text — "Test file #i", "Created
at: <RFC 3339>", "Timestamp: <unix ns>", "Run: <run id>" — so it is unique per
file and per run; with size, it is padded to exactly size bytes with random
bytes of its own (incompressible, like real model weights).

All files go in one tar stream over one SSH session; their MD5 is computed
locally as they are sent, then md5sum and stat on the machine (one more
session) must agree, or the step fails naming the files.

save writes the list in the seed's format, [{"path","content","md5","size"}],
which the seed's validator and files.verify from: both read. content is the
file's text; it is "" for files padded with size (binary, maybe huge).`,
	Example: "- id: files\n  action: files.create\n  with: { on: \"${{ steps.gpu }}\", count: 5, save: \"failover_files_{id}.json\" }",
}, func(ctx context.Context, env *actions.Env, p *CreateParams) (*CreateOutputs, error) {
	start := time.Now()
	x, inst, dir, err := reach(ctx, env, p.On, string(p.Dir))
	if err != nil {
		return nil, err
	}
	// save: was checked when decoded; {id} is the provider's, so the name
	// is checked again as it will be written, before the machine is touched.
	save := expandID(string(p.Save), inst.ID)
	if err := actions.CheckRunPath(save); err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	// The files cross the instance's link from scn: a provider may bill
	// the bytes it receives (VAST), as they arrive (Env.Moved).
	written, err := Write(ctx, x, CreateOptions{Dir: dir, Count: p.Count, Size: p.Size, Prefix: string(p.Prefix),
		RunID: env.RunID, Progress: func(done, total int64) { env.Transfer("writing files", done, total) }, Moved: env.Moved(inst.ID)})
	if err != nil {
		return nil, fmt.Errorf("creating files on instance %s: %w", inst.ID, err)
	}
	out := &CreateOutputs{Dir: dir, Count: len(written), Files: make([]File, len(written))}
	for i, w := range written {
		out.Files[i] = w.File
		out.Bytes += w.Size
		if i < maxLoggedFiles {
			env.Logf("✓ Created  %s  (%s, md5 %s)", w.Path, plural.Count(int(w.Size), "byte"), w.MD5)
		}
	}
	if len(written) > maxLoggedFiles {
		env.Logf("✓ … and %d more files", len(written)-maxLoggedFiles)
	}
	if p.Save != "" {
		data, err := encodeList(written)
		if err != nil {
			return out, err
		}
		if out.Saved, err = env.WriteRunFile(save, data, 0o600); err != nil {
			return out, fmt.Errorf("saving the file list: save: %w", err)
		}
		env.Logf("Saved the file list to %s", out.Saved)
	}
	out.Seconds = time.Since(start).Seconds()
	env.Logf("Created %s (%s) in %s in %.1fs", plural.Count(out.Count, "file"), plural.Count(int(out.Bytes), "byte"), dir, out.Seconds)
	return out, nil
})

// maxLoggedFiles caps the ✓ lines in the log, as md5check caps its own.
const maxLoggedFiles = 200

// reach connects to the instance and settles the directory: dir, or the
// instance's workspace when dir is not given.
func reach(ctx context.Context, env *actions.Env, on actions.InstanceRef, dir string) (remote.Execer, *cloud.Instance, string, error) {
	x, inst, err := env.Exec(ctx, on)
	if err != nil {
		return nil, nil, "", err
	}
	if dir == "" {
		dir = inst.Workspace
	}
	if dir == "" {
		return nil, nil, "", fmt.Errorf("instance %s reports no workspace: give dir", inst.ID)
	}
	return x, inst, dir, nil
}

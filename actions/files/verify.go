package files

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/md5check"
	"github.com/scnlabs/scn/internal/remote"
)

// VerifyParams are the parameters of files.verify.
type VerifyParams struct {
	On        actions.InstanceRef `json:"on" alias:"instance" required:"true" doc:"instance to check: an id or ${{ steps.<id> }} of instance.create"`
	Files     []File              `json:"files" doc:"the files to check as files.create outputs them: ${{ steps.<id>.files }}"`
	From      string              `json:"from" doc:"local JSON list saved by files.create save: or by the seed, [{path, md5, ...}], a relative path under the run directory as for save:; {id} becomes the id of on"`
	Dir       Dir                 `json:"dir" doc:"absolute directory on the machine the files should be in; default: the instance's workspace"`
	SourceDir string              `json:"source_dir" doc:"directory the recorded paths were under on the machine that wrote them; default: their longest common directory"`
	Fail      bool                `json:"fail" default:"true" doc:"fail the step when a file is missing or altered; false only reports"`
}

// ParamGroups implements actions.Grouper.
func (p *VerifyParams) ParamGroups() []actions.Group {
	return []actions.Group{{Rule: actions.ExactlyOne, Params: []string{"files", "from"}}}
}

// VerifyOutputs are the outputs of files.verify.
type VerifyOutputs struct {
	Total       int               `json:"total" doc:"files checked"`
	Valid       int               `json:"valid" doc:"files present with the recorded MD5"`
	Missing     []string          `json:"missing" doc:"paths of the files not found"`
	Mismatched  []string          `json:"mismatched" doc:"paths of the files whose MD5 differs"`
	Success     bool              `json:"success" doc:"every file is valid"`
	SuccessRate float64           `json:"success_rate" doc:"percentage of valid files"`
	Results     []md5check.Result `json:"results" doc:"verdict per file: path, status (valid, missing, mismatch), expected, got"`
	Failed      []string          `json:"failed" doc:"paths of the files that are missing or altered"`
	Seconds     float64           `json:"seconds" doc:"time the check took"`
}

// Validation implements actions.ValidationReport.
func (o *VerifyOutputs) Validation() (journal.Validation, bool) {
	r := md5check.Report{Results: o.Results, Total: o.Total, Valid: o.Valid, Missing: len(o.Missing), Mismatched: len(o.Mismatched)}
	return r.Validation(), true
}

// Verify checks that recorded files exist on an instance with their MD5.
var Verify = actions.Define(actions.Info{
	Name:    "files.verify",
	Summary: "check that recorded files exist on an instance with the same MD5",
	Doc: `Checks the files of files.create (files: ${{ steps.<id>.files }}) or of a
saved JSON list (from:, the seed's failover_files_<id>.json works) on an
instance, hashing them all with md5sum in one SSH session.

Where a file is looked for: the machine that wrote the files and the one
checking them need not share absolute paths (two local sandboxes have
different workspaces, VAST GPUs both use /workspace). So each file's path
relative to where it was written is joined to dir (default: the instance's
workspace). That relative path is the file's rel when recorded (files.create
records it), else its path relative to source_dir, else its path relative to
the longest common directory of all the recorded paths.

Logs a line per file like the seed's validator — "✓ Valid", "✗ File
missing", "✗ MD5 mismatch" with Expected/Got — then "Files validated: n/m"
and "Success rate: x%". With fail: true (the default) a missing or altered
file fails the step, naming the files; the outputs are set either way.`,
	Example: "- id: verify\n  action: files.verify\n  with: { on: \"${{ steps.gpu2 }}\", files: \"${{ steps.files.files }}\" }\n  expect: [ \"success\" ]",
}, func(ctx context.Context, env *actions.Env, p *VerifyParams) (*VerifyOutputs, error) {
	start := time.Now()
	x, inst, dir, err := reach(ctx, env, p.On, string(p.Dir))
	if err != nil {
		return nil, err
	}
	files := p.Files
	if p.From != "" {
		if files, err = Load(env.LocalPath(expandID(p.From, inst.ID))); err != nil {
			return nil, hintCurrentDir(err, env, expandID(p.From, inst.ID))
		}
	}
	rep, err := Check(ctx, x, files, dir, p.SourceDir)
	if err != nil {
		return nil, fmt.Errorf("verifying files on instance %s: %w", inst.ID, err)
	}
	for _, line := range rep.Lines() {
		env.Logf("%s", line)
	}
	out := &VerifyOutputs{Total: rep.Total, Valid: rep.Valid, Missing: rep.Paths(md5check.Missing), Mismatched: rep.Paths(md5check.Mismatch),
		Success: rep.Success(), SuccessRate: rep.Rate(), Results: rep.Results, Failed: rep.Failed(),
		Seconds: time.Since(start).Seconds()}
	if p.Fail {
		if err := rep.Err(); err != nil {
			return out, fmt.Errorf("on instance %s: %w", inst.ID, err)
		}
	}
	return out, nil
})

// Check places the recorded files on the machine (Resolve: under dir, by
// where they were relative to the writer's directory) and checks their MD5
// there (md5check.Check).
func Check(ctx context.Context, x remote.Execer, files []File, dir, sourceDir string) (*md5check.Report, error) {
	for i, f := range files {
		if err := checkRecord(f); err != nil {
			return nil, fmt.Errorf("files[%d]: %w", i, err)
		}
	}
	paths, err := Resolve(files, dir, sourceDir)
	if err != nil {
		return nil, err
	}
	want := make([]md5check.Want, len(files))
	for i, f := range files {
		want[i] = md5check.Want{Path: paths[i], MD5: f.MD5}
	}
	return md5check.Check(ctx, x, want)
}

// hintCurrentDir adds to a list not found under the run directory that
// one of that name is in the current directory: from: resolves under the
// run directory, and an old habit (the seed's lists are written where it
// runs) would otherwise be a puzzling "no such file".
func hintCurrentDir(err error, env *actions.Env, from string) error {
	if env.Dir == "" || filepath.IsAbs(from) || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, serr := os.Stat(from); serr != nil {
		return err
	}
	abs, aerr := filepath.Abs(from)
	if aerr != nil {
		abs = from
	}
	return fmt.Errorf("%w (a relative from: is under the run directory; %s is in the current directory: give its absolute path %s)", err, from, abs)
}

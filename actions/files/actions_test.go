package files

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// sandboxes is a run on a provider with running machines a and b, each
// with its own workspace (reached through a real shell), and a machine
// that has stopped.
func sandboxes(t *testing.T) (*actiontest.Run, *actiontest.Provider) {
	p := actiontest.NewProvider(t, "local")
	p.Machine("a")
	p.Machine("b")
	p.Add(cloud.Instance{ID: "dead", Status: cloud.StatusExited, Workspace: t.TempDir()})
	return actiontest.NewRun(t, &target.Target{Compute: p}), p
}

func ws(t *testing.T, p *actiontest.Provider, id string) string {
	inst, err := p.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inst.Workspace
}

func TestParams(t *testing.T) {
	for _, tc := range []struct {
		spec *actions.Spec
		with map[string]any
		want string // error text; "" = valid
	}{
		{Create, map[string]any{"instance": "42"}, ""},
		{Create, map[string]any{"count": 2}, "on: required parameter is missing"},
		{Create, map[string]any{"on": "42", "count": 0}, "count: 0 is out of range: it must be at least 1"},
		{Create, map[string]any{"on": "42", "size": -1}, "size: -1 is out of range: it must be at least 0"},
		{Create, map[string]any{"on": "42", "dir": "workspace"}, "absolute"},
		{Create, map[string]any{"on": "42", "prefix": "a/b"}, "no '/'"},
		{Create, map[string]any{"on": "42", "cuont": 2}, "unknown parameter"},
		{Create, map[string]any{"on": "42", "save": "out/files_{id}.json"}, ""},
		{Create, map[string]any{"on": "42", "save": "./out/../files.json"}, ""},
		{Create, map[string]any{"on": "42", "save": "/etc/scn-files.json"}, `save: "/etc/scn-files.json" is an absolute path`},
		{Create, map[string]any{"on": "42", "save": "../../../escaped.json"}, `save: "../../../escaped.json" leaves the run directory`},
		{Create, map[string]any{"on": "42", "save": "out/../../escaped.json"}, "leaves the run directory"},
		{Create, map[string]any{"on": "42", "save": "out/.."}, "the run directory itself"},
		{Verify, map[string]any{"on": "42", "from": "f.json"}, ""},
		{Verify, map[string]any{"on": "42", "files": []any{}}, ""}, // empty is a run-time error
		{Verify, map[string]any{"on": "42"}, "give files"},
		{Verify, map[string]any{"on": "42", "from": "f.json", "files": []any{map[string]any{"path": "/a"}}}, "not both"},
		{Verify, map[string]any{"on": "42", "from": "f.json", "dir": "rel"}, "absolute"},
	} {
		_, err := actiontest.Params(tc.spec, tc.with)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %v: err = %v, want %q", tc.spec.Name, tc.with, err, tc.want)
		}
	}
	c := Create.NewParams().(*CreateParams)
	if err := actions.Decode(c, map[string]any{"instance": map[string]any{"id": 42, "provider": "vast", "host": "h"}}, false); err != nil {
		t.Fatal(err)
	}
	if c.On.ID != "42" || c.On.Provider != "vast" || c.Count != 3 || c.Prefix != "test-file-" || c.Size != 0 || c.Dir != "" {
		t.Errorf("defaults/alias: %+v", c)
	}
	v := Verify.NewParams().(*VerifyParams)
	if err := actions.Decode(v, map[string]any{"on": "1", "from": "x"}, false); err != nil || !v.Fail {
		t.Errorf("fail should default to true: %+v %v", v, err)
	}
}

func TestCreateAndVerifyAcrossSandboxes(t *testing.T) {
	r, m := sandboxes(t)
	t.Chdir(t.TempDir()) // save: is relative to where scn runs
	out, err := r.Do(t, "files", Create, map[string]any{"on": map[string]any{"id": "a"}, "count": 4, "save": "lists/failover_files_{id}.json"})
	if err != nil {
		t.Fatal(err)
	}
	created := out.(*CreateOutputs)
	wsA, wsB := ws(t, m, "a"), ws(t, m, "b")
	if created.Count != 4 || len(created.Files) != 4 || created.Dir != wsA || created.Files[3].Path != filepath.Join(wsA, "test-file-4.txt") {
		t.Fatalf("outputs %+v", created)
	}
	if cwd, _ := os.Getwd(); created.Saved != filepath.Join(cwd, "lists", "failover_files_a.json") {
		t.Fatalf("saved to %q", created.Saved)
	}
	if _, err := os.Stat(created.Saved); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(created.Files[0].Path)
	if !strings.Contains(string(data), "Run: "+r.ID+"\n") {
		t.Errorf("content %q lacks the run id", data)
	}

	// Restore B from A, as a snapshot would.
	if out, err := exec.Command("cp", "-a", wsA+"/.", wsB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	// files: ${{ steps.files.files }} goes through the runner's generic form.
	asStep := runner.ToGeneric(created).(map[string]any)
	for name, with := range map[string]map[string]any{
		"files": {"on": "b", "files": asStep["files"]},
		"from":  {"on": "b", "from": "lists/failover_files_a.json"},
	} {
		out, err := r.Do(t, "verify_"+name, Verify, with)
		v, _ := out.(*VerifyOutputs)
		if err != nil || !v.Success || v.Valid != 4 || v.SuccessRate != 100 || v.Results[0].Path != filepath.Join(wsB, "test-file-1.txt") {
			t.Fatalf("verify %s on B: %v %+v", name, err, v)
		}
	}

	must(t, os.Remove(filepath.Join(wsB, "test-file-3.txt")))
	out, err = r.Do(t, "verify", Verify, map[string]any{"on": "b", "files": asStep["files"]})
	v := out.(*VerifyOutputs)
	gone := filepath.Join(wsB, "test-file-3.txt")
	if err == nil || !strings.Contains(err.Error(), gone) || len(v.Missing) != 1 || v.Missing[0] != gone || v.Success || v.Failed[0] != gone {
		t.Fatalf("a missing file: err %v, outputs %+v", err, v)
	}
	var rep actions.ValidationReport = v
	if val, ok := rep.Validation(); !ok || val.Total != 4 || val.Valid != 3 || val.Missing != 1 || len(val.Failures) != 1 || val.Failures[0].Path != gone {
		t.Errorf("validation %+v", val)
	}
	logs := strings.Join(r.Env("verify").Logs(), "\n")
	if !strings.Contains(logs, "✗ File missing  "+gone) || !strings.Contains(logs, "Files validated: 3/4\nSuccess rate: 75.0%") {
		t.Errorf("logs:\n%s", logs)
	}
	if _, err := r.Do(t, "verify_anyway", Verify, map[string]any{"on": "b", "files": asStep["files"], "fail": false}); err != nil {
		t.Errorf("fail: false still failed: %v", err)
	}
}

// In a run, a relative save: and from: are under the run directory, never
// the directory scn runs in; an absolute from: is read as is; a list left
// in the current directory is named in the error of a from: that misses it.
func TestSaveAndFromResolveUnderTheRunDirectory(t *testing.T) {
	r, _ := sandboxes(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	r.Dir = filepath.Join(t.TempDir(), "runs", r.ID)
	out, err := r.Do(t, "files", Create, map[string]any{"on": "a", "count": 2, "save": "failover_files_{id}.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(r.Dir, "failover_files_a.json")
	if saved := out.(*CreateOutputs).Saved; saved != want || !fileExists(want) || fileExists(filepath.Join(cwd, "failover_files_a.json")) {
		t.Fatalf("saved to %q; want %s and nothing in the current directory", saved, want)
	}
	if out, err := r.Do(t, "verify", Verify, map[string]any{"on": "a", "from": "failover_files_{id}.json"}); err != nil || out.(*VerifyOutputs).Valid != 2 {
		t.Fatalf("from: under the run directory: %v %+v", err, out)
	}
	if out, err := r.Do(t, "verify_abs", Verify, map[string]any{"on": "a", "from": want}); err != nil || out.(*VerifyOutputs).Valid != 2 {
		t.Fatalf("absolute from: %v %+v", err, out)
	}

	must(t, os.WriteFile(filepath.Join(cwd, "here.json"), []byte("[]"), 0o644))
	_, err = r.Do(t, "verify_here", Verify, map[string]any{"on": "a", "from": "here.json"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(r.Dir, "here.json")) || !strings.Contains(err.Error(), "give its absolute path "+filepath.Join(cwd, "here.json")) {
		t.Errorf("from: missing under the run directory but in the current one: %v", err)
	}
}

// save: writes under the run directory and nowhere else: an absolute path
// or one climbing out with .. is refused when the step's parameters are
// decoded (as the runner does with a computed value, before the action
// starts: nothing is written on the machine either), and a symbolic link in
// the run directory pointing out of it is refused when the list is written.
func TestSaveStaysUnderTheRunDirectory(t *testing.T) {
	r, m := sandboxes(t)
	t.Chdir(t.TempDir())
	r.Dir = filepath.Join(t.TempDir(), "runs", r.ID)
	outside := t.TempDir()

	for _, save := range []string{"/etc/scn-files.json", filepath.Join(outside, "abs.json"), "../../../escaped.json", "out/../../escaped.json"} {
		p := Create.NewParams()
		err := actions.Decode(p, map[string]any{"on": "a", "save": save}, false)
		var de *actions.DecodeError
		if !errors.As(err, &de) || de.Path != "save" || !strings.Contains(de.Msg, "run directory") {
			t.Errorf("save: %q decoded: %v, want refused", save, err)
		}
	}

	out, err := r.Do(t, "nested", Create, map[string]any{"on": "a", "count": 2, "save": "out/files_{id}.json"})
	want := filepath.Join(r.Dir, "out", "files_a.json")
	if err != nil || out.(*CreateOutputs).Saved != want {
		t.Fatalf("nested save: %v %+v; want it at %s", err, out, want)
	}
	if list, err := Load(want); err != nil || len(list) != 2 {
		t.Fatalf("saved list: %v %v", list, err)
	}

	must(t, os.Symlink(outside, filepath.Join(r.Dir, "link")))
	_, err = r.Do(t, "through_link", Create, map[string]any{"on": "a", "count": 1, "prefix": "linked-", "save": "link/files.json"})
	if err == nil || !strings.Contains(err.Error(), "under the run directory") {
		t.Errorf("save: through a symbolic link out of the run directory: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the run directory: %v", entries)
	}
	if !fileExists(filepath.Join(ws(t, m, "a"), "linked-1.txt")) {
		t.Errorf("the files were not written on the machine: only their list is refused")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestActionErrors(t *testing.T) {
	r, _ := sandboxes(t)
	for _, tc := range []struct {
		spec *actions.Spec
		with map[string]any
		want string
	}{
		{Create, map[string]any{"on": "dead"}, "not running"},
		{Create, map[string]any{"on": "nobody"}, "not found"},
		{Verify, map[string]any{"on": "a", "files": []any{}}, "no files to verify"},
		{Verify, map[string]any{"on": "a", "from": filepath.Join(t.TempDir(), "{id}.json")}, "a.json"},
		{Verify, map[string]any{"on": "a", "files": []any{map[string]any{"path": "/w/x", "md5": "nope"}}}, "not 32 hex"},
	} {
		if _, err := r.Do(t, "bad", tc.spec, tc.with); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err = %v, want %q", tc.spec.Name, tc.with, err, tc.want)
		}
	}
}

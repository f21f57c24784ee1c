package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDoInstanceAcrossCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.scn("do", "instance.create", "--with", "gpu=RTX_4090", "--with", "ready_timeout=1m")
	if r.code != 0 {
		t.Fatalf("do instance.create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var inst struct{ ID, Workspace, State string }
	if err := json.Unmarshal([]byte(r.stdout), &inst); err != nil || inst.ID == "" {
		t.Fatalf("do instance.create printed %q: %v", r.stdout, err)
	}
	if inst.State != "running" || !sandboxProcess(inst.ID) {
		t.Fatalf("instance %s is %s (process alive %v) after scn exited; want running", inst.ID, inst.State, sandboxProcess(inst.ID))
	}
	if open := e.open(); len(open) != 1 || open[0].ID != inst.ID {
		t.Fatalf("ledger open entries %+v; want the kept instance %s", open, inst.ID)
	}

	// A later scn process reaches it over SSH.
	r = e.scn("do", "ssh.exec", "--with", "instance="+inst.ID, "--with", "command=echo answer-$((6*7)) > out.txt; cat out.txt; pwd")
	if r.code != 0 {
		t.Fatalf("do ssh.exec: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var out struct {
		Stdout   string
		ExitCode int `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("do ssh.exec printed %q: %v", r.stdout, err)
	}
	if out.ExitCode != 0 || !strings.HasPrefix(out.Stdout, "answer-42\n") {
		t.Fatalf("ssh.exec outputs %+v", out)
	}
	if b, err := os.ReadFile(filepath.Join(strings.TrimSpace(strings.TrimPrefix(out.Stdout, "answer-42\n")), "out.txt")); err != nil || string(b) != "answer-42\n" {
		t.Errorf("the command's file is not in its working directory on the sandbox: %q %v", b, err)
	}

	// scn do has no run directory: a relative save: is in the current one.
	r = e.scn("do", "files.create", "--with", "on="+inst.ID, "--with", "count=1", "--with", "save=lists/do.json")
	if r.code != 0 || !fileExists(filepath.Join(e.dir, "lists", "do.json")) {
		t.Fatalf("do files.create save=lists/do.json: exit %d, want the list in the working directory\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = e.scn("do", "instance.destroy", "--with", "id="+inst.ID)
	if r.code != 0 || !strings.Contains(r.stdout, `"id": "`+inst.ID+`"`) {
		t.Fatalf("do instance.destroy: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.assertNoSandbox(inst.ID)
	e.assertLedgerClosed()
}

// withInstance would rent an instance if it ever ran.
const withInstance = `name: rents
vars:
  gpu: RTX_4090
steps:
  - id: gpu
    action: instance.create
    with: { gpu: "${{ vars.gpu }}", ready_timeout: 1m }
`

func TestExitCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pass := e.write("pass.yaml", "name: pass\nsteps:\n  - action: log\n    with: { message: hello }\n")
	fail := e.write("fail.yaml", "name: fail\nsteps:\n  - assert: 1 + 1 == 3\n")
	typo := e.write("typo.yaml", strings.Replace(withInstance, "instance.create", "instance.creat", 1))
	broken := e.write("broken.yaml", withInstance+"  - id: [oops\n")
	rents := e.write("rents.yaml", withInstance)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"pass", []string{pass}, 0, ""},
		{"fail", []string{fail}, 1, ""},
		{"unknown action", []string{typo}, 2, "did you mean"},
		{"YAML error", []string{broken}, 2, "broken.yaml:"},
		{"one bad file of two", []string{rents, typo}, 2, "1 of 2 scenario files have problems: nothing was run"},
		{"unknown --var", []string{rents, "--var", "gpuu=RTX_3090"}, 2, "gpuu"},
		{"malformed --var", []string{rents, "--var", "gpu"}, 2, "--var name=value"},
		{"bad --parallel", []string{rents, "--parallel", "0"}, 2, "--parallel 0"},
	} {
		r := e.scn(append([]string{"run"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, want %d with %q in stderr\nstdout:\n%s\nstderr:\n%s", c.name, r.code, c.code, c.want, r.stdout, r.stderr)
		}
	}
	// Nothing the bad inputs named was ever created: no sandbox, no ledger line.
	if entries, _ := os.ReadDir(filepath.Join(e.state, "local")); len(entries) > 0 {
		t.Errorf("bad input created sandbox folders: %v", entries)
	}
	if recs := e.records(); len(recs) > 0 {
		t.Errorf("bad input wrote the ledger: %+v", recs)
	}
}

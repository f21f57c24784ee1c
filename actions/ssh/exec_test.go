package ssh

import (
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/internal/target"
)

// testRun is a run on a provider with one running machine, 7, reached
// through a real shell.
func testRun(t *testing.T) *actiontest.Run {
	p := actiontest.NewProvider(t, "local")
	p.Machine("7")
	return actiontest.NewRun(t, &target.Target{Compute: p})
}

func TestExecParams(t *testing.T) {
	p := Exec.NewParams().(*ExecParams)
	if err := actions.Decode(p, map[string]any{"instance": 7, "command": "ls"}, true); err != nil {
		t.Fatal(err)
	}
	if p.On.ID != "7" || p.Timeout.Duration != 10*time.Minute || !p.Check || p.MaxOutput != 1<<20 || p.Log || p.Validate() != nil {
		t.Errorf("alias/defaults: %+v", p)
	}
	for _, tc := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"on": 7}, "command: required"},
		{map[string]any{"command": "ls"}, "on: required"},
		{map[string]any{"on": 7, "command": " "}, "command is empty"},
		{map[string]any{"on": 7, "command": "ls", "timeout": 0}, "timeout: 0s is out of range: it must be more than 0s"},
		{map[string]any{"on": 7, "command": "ls", "timeout": "soon"}, "not a duration"},
		{map[string]any{"on": 7, "command": "ls", "max_output": -1}, "max_output: -1 is out of range: it must be at least 0"},
		{map[string]any{"on": 7, "command": "ls", "env": map[string]any{"NOT-OK": "v"}}, "not a shell variable name"},
		{map[string]any{"on": 7, "command": "ls", "env": map[string]any{"OK": 5}}, ""},
	} {
		_, err := actiontest.Params(Exec, tc.with)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: err = %v, want %q", tc.with, err, tc.want)
		}
	}
}

func runExec(t *testing.T, r *actiontest.Run, with map[string]any) (*ExecOutputs, error) {
	t.Helper()
	out, err := r.Do(t, "sh", Exec, with)
	o, _ := out.(*ExecOutputs)
	return o, err
}

func TestExecAction(t *testing.T) {
	r := testRun(t)
	script := "echo out; echo \"$GREETING\" >&2; exit 3"
	with := map[string]any{"on": "7", "command": script, "env": map[string]any{"GREETING": "it's me"}, "log": true}
	out, err := runExec(t, r, with)
	if err == nil || !strings.Contains(err.Error(), "exited 3 on instance 7") || !strings.Contains(err.Error(), "it's me") {
		t.Fatalf("check: true should fail naming the exit and stderr: %v", err)
	}
	if out == nil || out.Stdout != "out\n" || out.Stderr != "it's me\n" || out.ExitCode != 3 {
		t.Fatalf("outputs of a failed command: %+v", out)
	}
	if logs := strings.Join(r.Env("sh").Logs(), "\n"); !strings.Contains(logs, "out") || !strings.Contains(logs, "stderr: it's me") {
		t.Errorf("log: true did not stream the output: %q", logs)
	}

	with["check"], with["log"] = false, false
	quiet := testRun(t)
	if out, err = runExec(t, quiet, with); err != nil || out.ExitCode != 3 {
		t.Fatalf("check: false: %v %+v", err, out)
	}
	if logs := quiet.Env("sh").Logs(); len(logs) != 0 {
		t.Errorf("output logged without log: true: %q", logs)
	}

	// The error names the end of stderr even when max_output keeps little.
	_, err = runExec(t, r, map[string]any{"on": "7", "max_output": 10,
		"command": "head -c 100000 /dev/zero | tr '\\0' x >&2; echo; echo 'the real error' >&2; exit 1"})
	if err == nil || !strings.Contains(err.Error(), "the real error") {
		t.Fatalf("error lacks the end of stderr: %.300v", err)
	}

	out, err = runExec(t, r, map[string]any{"on": "7", "command": "sleep 20", "timeout": "1s", "check": false})
	if err == nil || !strings.Contains(err.Error(), "timed out") || !out.TimedOut {
		t.Fatalf("a timed-out command must fail the step even with check: false: %v %+v", err, out)
	}

	if _, err := runExec(t, r, map[string]any{"on": "8", "command": "true"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown instance: %v", err)
	}
}

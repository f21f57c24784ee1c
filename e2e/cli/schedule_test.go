package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflow is the part of .github/workflows/nightly.yml the test runs.
type workflow struct {
	Env  map[string]string
	Jobs map[string]struct {
		Needs    any
		Strategy struct {
			Matrix struct{ Shard []int }
		}
		Steps []struct {
			Uses string
			Run  string
			With map[string]string
		}
	}
}

// The nightly workflow's shell steps, run here as its jobs run them: each
// shard of the matrix runs scripts/nightly-run in its own state directory,
// the shards' run directories are downloaded one folder per artifact, and
// scripts/nightly-history adds them to the history and renders the trends.
func TestNightlyWorkflowSteps(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, ".github/workflows/nightly.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	shards := wf.Jobs["drills"].Strategy.Matrix.Shard
	if fmt.Sprint(len(shards)) != wf.Env["SHARDS"] {
		t.Fatalf("matrix.shard %v but SHARDS=%s: a shard would be skipped or run twice", shards, wf.Env["SHARDS"])
	}
	runStep, historyStep, download := "", "", ""
	for _, s := range wf.Jobs["drills"].Steps {
		if strings.Contains(s.Run, "scripts/nightly-run") {
			runStep = s.Run
		}
	}
	for _, s := range wf.Jobs["history"].Steps {
		if strings.Contains(s.Run, "scripts/nightly-history") {
			historyStep = s.Run
		}
		if strings.HasPrefix(s.Uses, "actions/download-artifact@") {
			download = s.With["path"]
		}
	}
	if runStep != `scripts/nightly-run "${{ matrix.shard }}/$SHARDS"` || historyStep != "scripts/nightly-history "+download+" history trends.html" {
		t.Fatalf("the workflow's steps changed (%q, %q): update this test with them", runStep, historyStep)
	}

	e := newEnv(t)
	var files []string
	for _, name := range []string{"alpha", "bravo", "charlie", "delta"} {
		files = append(files, e.write(name+".yaml", "name: "+name+"\nsteps:\n  - action: log\n    with: { message: hi }\n"))
	}
	files = append(files, e.write("zulu.yaml", "name: zulu\nsteps:\n  - assert: 1 == 2\n"))
	script := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(root, "scripts", args[0]), args[1:]...)
		cmd.Dir = e.dir
		cmd.Env = append(append(os.Environ(), "SCN="+e.bin, "NO_COLOR=1"), env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	tonight := filepath.Join(e.dir, download)
	failed := 0
	for _, n := range shards {
		home := filepath.Join(e.dir, fmt.Sprintf("job-%d", n), ".scn")
		t.Cleanup(func() { exec.Command(e.bin, "cleanup", "--state-dir", home).Run() })
		out, code := script([]string{"SCN_HOME=" + home}, append([]string{"nightly-run", fmt.Sprintf("%d/%s", n, wf.Env["SHARDS"])}, files...)...)
		if code == 1 {
			failed++
		} else if code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", n, code, out)
		}
		if _, err := os.Stat(filepath.Join(home, "junit.xml")); err != nil {
			t.Errorf("shard %d wrote no junit.xml: %v", n, err)
		}
		// download-artifact: one folder per artifact, named as uploaded.
		if err := os.CopyFS(filepath.Join(tonight, fmt.Sprintf("runs-%d", n)), os.DirFS(filepath.Join(home, "runs"))); err != nil {
			t.Fatal(err)
		}
	}
	if failed != 1 {
		t.Errorf("%d shards failed, want the one with the failing drill", failed)
	}
	history := filepath.Join(e.dir, "history")
	html := filepath.Join(e.dir, "trends.html")
	out, code := script(nil, "nightly-history", download, "history", "trends.html")
	if code != 0 || !strings.Contains(out, "5 run(s) added") {
		t.Fatalf("nightly-history: exit %d\n%s", code, out)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "bravo", "charlie", "delta", "zulu"} {
		if !strings.Contains(string(page), name) {
			t.Errorf("trends.html lacks scenario %s", name)
		}
	}
	// The next night keeps the newest KEEP runs.
	if out, code := script(nil, "nightly-history", download, "history", "trends.html", "3"); code != 0 {
		t.Fatalf("nightly-history with KEEP: exit %d\n%s", code, out)
	}
	if runs, _ := filepath.Glob(filepath.Join(history, "*", "journal.json")); len(runs) != 3 {
		t.Errorf("history keeps %d runs, want 3", len(runs))
	}
}

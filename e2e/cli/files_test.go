package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSavedListsStayInTheRunDirectory: a drill's relative save: and from:
// are under its run directory, so a run leaves nothing in the directory
// scn runs in (a repository checkout), and from: finds what save: wrote.
func TestSavedListsStayInTheRunDirectory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	drill := e.write("drill.yaml", `name: saves
steps:
  - id: gpu
    action: instance.create
    with: { gpu: RTX_4090 }
  - id: files
    action: files.create
    with: { on: "${{ steps.gpu }}", count: 2, save: "lists/files_{id}.json" }
  - action: files.verify
    with: { on: "${{ steps.gpu }}", from: "lists/files_${{ steps.gpu.id }}.json" }
    expect: [ "valid == 2" ]
`)
	r := e.scn("run", drill)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	runs, _ := os.ReadDir(filepath.Join(e.state, "runs"))
	if len(runs) != 1 {
		t.Fatalf("%d run directories", len(runs))
	}
	lists, _ := filepath.Glob(filepath.Join(e.state, "runs", runs[0].Name(), "lists", "files_*.json"))
	if len(lists) != 1 {
		t.Errorf("run directory holds %q; want the saved list", lists)
	}
	// The working directory holds the drill and the state directory, nothing else.
	if after, _ := os.ReadDir(e.dir); len(after) != 2 {
		t.Errorf("the run wrote into the directory scn runs in: %v", after)
	}
}

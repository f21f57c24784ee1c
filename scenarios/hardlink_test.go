package scenarios_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
)

// hardLinked snapshots a workspace of one file and a hard link to it, then
// restores it onto another sandbox, where the two names must still be one
// file (same inode, two links).
const hardLinked = `name: hard-linked
steps:
  - id: gpu_a
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: fill
    action: ssh.exec
    with: { on: "${{ steps.gpu_a }}", command: "echo weights > model.bin && ln model.bin latest.bin" }
  - id: snap
    action: snapshot.create
    with: { on: "${{ steps.gpu_a }}" }
  - id: gpu_b
    action: instance.create
    with: { gpu: RTX_4090, ready_timeout: 1m }
  - id: restore
    action: snapshot.restore
    with: { snapshot: "${{ steps.snap }}", on: "${{ steps.gpu_b }}" }
    expect: [ "valid == file_count", "links_valid == hardlinks" ]
  - id: same
    action: ssh.exec
    with: { on: "${{ steps.gpu_b }}", command: 'test "$(stat -c %i model.bin)" = "$(stat -c %i latest.bin)" && test "$(stat -c %h model.bin)" = 2' }
`

// A hard-linked workspace comes back hard-linked, whether scn's agent or
// scn itself moves the bytes, and its verdict counts files and links
// apart: 1/1 and 1/1, a success, the run a PASS. Its line names the
// files' size and the stream's, in units that fit them.
func TestHardLinksRestoreAsHardLinks(t *testing.T) {
	for _, via := range []string{"agent", "scn"} {
		t.Run(via, func(t *testing.T) {
			tgt := openLocal(t)
			if via == "scn" {
				tgt.Agent = nil
			}
			path := filepath.Join(t.TempDir(), "hard-linked.yaml")
			writeFile(t, path, hardLinked)
			j := runOn(t, path, runOptions{target: tgt, timeout: 2 * time.Minute})
			if j.Status != journal.StatusPassed {
				for _, s := range j.Steps {
					t.Logf("step %s %s %s %v", s.ID, s.Status, s.Error, s.Logs)
				}
				t.Fatalf("drill %s: %s", j.Status, j.Error)
			}
			v := j.Validation
			if v == nil || !v.Success || v.Total != 1 || v.Valid != 1 || v.Links != 1 || v.LinksValid != 1 {
				t.Fatalf("validation %+v; want 1/1 files, 1/1 hard links, a success", v)
			}
			for _, s := range j.Steps {
				if s.ID != "restore" {
					continue
				}
				logs := strings.Join(s.Logs, "\n")
				// Small sizes read in B and kB, never "0.0 MB"; the stream
				// (tar headers and padding) is named apart from the files.
				if !strings.Contains(logs, "Files validated: 1/1, hard links 1/1") || !strings.Contains(logs, "via "+via) ||
					!strings.Contains(logs, "1 file (8 B), stream ") || !strings.Contains(logs, " kB in ") || strings.Contains(logs, "0.0 MB") {
					t.Errorf("restore said:\n%s", logs)
				}
			}
		})
	}
}

package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/negative"
	"github.com/scnlabs/scn/internal/session"
)

// Every kind of negative control that applies to a shipped drill is
// detected by a check of that drill, at the step that should see it; a
// drill that verifies nothing is exposed by each kind.
func TestNegativeControlsOnShippedDrills(t *testing.T) {
	want := map[string]map[string]string{ // drill → kind → step that must see it
		"realtime-sync.yaml": {"corrupt-file": "verify", "delete-file": "verify", "truncate-snapshot": "restore"},
		"cpu-standby.yaml":   {"corrupt-file": "verify", "delete-file": "verify", "stale-standby": "held"},
	}
	for drill, kinds := range want {
		c, err := session.Load(drill)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(negative.Applicable(c.Scenario()), " "); len(strings.Fields(got)) != len(kinds) {
			t.Errorf("%s: applicable kinds %q, want those of %v", drill, got, kinds)
		}
		vars := readExpectation(t, drill).vars
		for kind, step := range kinds {
			t.Run(strings.TrimSuffix(drill, ".yaml")+"/"+kind, func(t *testing.T) {
				t.Parallel()
				f, err := negative.New(kind)
				if err != nil {
					t.Fatal(err)
				}
				j := runOn(t, drill, runOptions{vars: vars, target: openLocal(t), timeout: 4 * time.Minute, fault: f})
				nc := j.NegativeControl
				if nc == nil || nc.Verdict != journal.ControlDetected || nc.DetectedAt != step {
					t.Fatalf("%s %s: %+v, status %s: %s", drill, kind, nc, j.Status, j.Error)
				}
				if j.Status != journal.StatusPassed || j.ExitCode != 0 || len(nc.Injections) == 0 {
					t.Errorf("detected control: status %s exit %d injections %v", j.Status, j.ExitCode, nc.Injections)
				}
			})
		}
	}
}

// Blind drills verify nothing: each kind must expose the one it damages.
// A snapshot restore always checks the data object's size against its
// manifest (truncate-snapshot is detected even without verify), so the
// blind snapshot drill never restores.
var blindDrills = map[string]struct{ src, kinds string }{
	"blind-restore": {blindSnapshot + `  - id: restore
    action: snapshot.restore
    with: { snapshot: "${{ steps.snap.id }}", on: "${{ steps.gpu_a }}", verify: false }
`, "corrupt-file delete-file"},
	"blind-snapshot": {blindSnapshot, "truncate-snapshot"},
	"blind-standby": {`name: blind-standby
steps:
  - id: gpu
    action: instance.create
    with: { gpu: RTX_4090 }
  - id: files
    action: files.create
    with: { on: "${{ steps.gpu }}", count: 2 }
  - id: standby
    action: standby.create
    with: { gpu: "${{ steps.gpu }}", sync_interval: 1s, check_interval: 100ms }
  - id: kill
    action: instance.destroy
    with: { id: "${{ steps.gpu.id }}", reason: failure }
  - id: detect
    action: standby.status
    with: { id: "${{ steps.standby }}" }
    until: { expr: "state == 'failover_active'", interval: 100ms, timeout: 1m }
  - id: gpu2
    action: instance.create
    with: { gpu: RTX_4090 }
  - id: restore
    action: failover.restore
    with: { standby: "${{ steps.standby }}", to: "${{ steps.gpu2 }}", verify: false }
`, "corrupt-file delete-file stale-standby"},
}

// blindSnapshot snapshots files and checks nothing.
const blindSnapshot = `name: blind
steps:
  - id: gpu_a
    action: instance.create
    with: { gpu: RTX_4090 }
  - id: files
    action: files.create
    with: { on: "${{ steps.gpu_a }}", count: 2 }
  - id: snap
    action: snapshot.create
    with: { on: "${{ steps.gpu_a }}", name: "blind-${{ run.id }}" }
`

func TestNegativeControlsExposeBlindDrills(t *testing.T) {
	for name, d := range blindDrills {
		path := filepath.Join(t.TempDir(), name+".yaml")
		if err := os.WriteFile(path, []byte(d.src), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, kind := range strings.Fields(d.kinds) {
			t.Run(name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				f, _ := negative.New(kind)
				j := runOn(t, path, runOptions{target: openLocal(t), timeout: 4 * time.Minute, fault: f})
				if j.NegativeControl.Verdict != journal.ControlExposed || j.ExitCode != 1 ||
					!strings.HasPrefix(j.Error, "this drill cannot see "+kind+": it passed after ") {
					t.Fatalf("verdict %+v exit %d error %q", j.NegativeControl, j.ExitCode, j.Error)
				}
			})
		}
	}
}

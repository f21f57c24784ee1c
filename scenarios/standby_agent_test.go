package scenarios_test

import (
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
)

// On local sandboxes the CPU-standby drill's syncs go GPU → the target's
// directory store → standby by the sandboxes' agents (they share scn's
// filesystem): the journal records each sync via the agent with no byte
// through scn.
func TestSandboxStandbySyncsByTheAgents(t *testing.T) {
	const path = "cpu-standby.yaml"
	want := readExpectation(t, path)
	for k, v := range want.vars {
		want.vars[k] = strings.ReplaceAll(v, "$TMP", t.TempDir())
	}
	j, _ := run(t, path, want.vars, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("%s %s: %s", path, j.Status, j.Error)
	}
	syncs := 0
	for _, x := range j.Snapshots {
		if x.Kind != "sync" {
			continue
		}
		syncs++
		if x.Via != "agent" || x.SCNBytes != 0 || x.BytesStream == 0 {
			t.Errorf("sync %s (step %s) went via %q, %d of %d bytes through scn; want the agents, none", x.ID, x.Step, x.Via, x.SCNBytes, x.BytesStream)
		}
	}
	if syncs == 0 {
		t.Fatalf("the journal records no standby sync: %+v", j.Snapshots)
	}
}

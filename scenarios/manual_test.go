package scenarios_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/journal"
)

// manual-ssh on two instances made beforehand (as `scn do instance.create`
// would): the drill uses them by id and neither creates nor destroys them.
func TestManualSSHOnExistingInstances(t *testing.T) {
	tgt := openLocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	offers, err := tgt.Compute.Offers(ctx, cloud.OfferQuery{GPU: "RTX_4090"})
	if err != nil || len(offers) == 0 {
		t.Fatalf("offers: %v %v", offers, err)
	}
	var ids []string
	for i := 0; i < 2; i++ {
		inst, err := tgt.Compute.Create(ctx, cloud.CreateRequest{Offer: offers[0], Label: "scn-manual-" + string(rune('a'+i)), PublicKey: tgt.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, inst.ID)
		if _, err := cloud.WaitReady(ctx, tgt.Compute, inst.ID, cloud.WaitOptions{Interval: 50 * time.Millisecond, Probe: tgt.Probe}); err != nil {
			t.Fatal(err)
		}
	}
	// Registered after run's cleanup check, so it runs before it (LIFO).
	j, _ := run(t, "manual-ssh.yaml", map[string]string{"source": ids[0], "target": ids[1], "save_dir": "lists"}, tgt)
	t.Cleanup(func() {
		for _, id := range ids {
			_ = tgt.Compute.Destroy(context.Background(), id, cloud.ReasonUser)
		}
	})
	if j.Status != journal.StatusPassed {
		t.Fatalf("manual-ssh on existing instances: %s %s", j.Status, j.Error)
	}
	for _, r := range j.Resources {
		if r.Kind == "instance" {
			t.Errorf("the drill created instance %s although both were given", r.ID)
		}
	}
	for _, id := range ids {
		inst, err := tgt.Compute.Get(ctx, id)
		if err != nil || inst.Status != cloud.StatusRunning {
			t.Errorf("instance %s given to the drill was not left running: %v %v", id, inst, err)
		}
	}
	if _, err := os.Stat(filepath.Join(tgt.StateDir, "runs", j.RunID, "lists", "failover_files_"+ids[0]+".json")); err != nil {
		t.Errorf("the seed-compatible file list was not saved: %v", err)
	}
}

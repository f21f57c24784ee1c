package failover_test

import (
	"maps"
	"math"
	"testing"
	"time"

	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/actions/failover"
	"github.com/scnlabs/scn/actions/files"
	"github.com/scnlabs/scn/actions/instance"
	"github.com/scnlabs/scn/actions/standby"
	"github.com/scnlabs/scn/internal/journal"
	association "github.com/scnlabs/scn/internal/standby"
)

// A standby's background syncs send the GPU's changes from the GPU, and
// VAST bills every byte an instance sends (its offer's inet_up_cost): each
// sync's bytes are on the GPU's bill as they move, not only the first
// sync's, which ran in standby.create's step.
//
// The test drives the sync loop itself (Registry.Adjust): no background
// sync runs but the one it asks for after the late files, and it reads
// the bill once that sync has ended, so what it sees does not depend on
// how many intervals fit in a loaded machine's time.
func TestBackgroundSyncsAreOnTheGPUsBandwidthBill(t *testing.T) {
	w := newWorld(t)
	ticks := make(chan time.Time)
	synced := make(chan association.Cycle, 1)
	reg, err := association.RunRegistry(w.Run.Shared)
	if err != nil {
		t.Fatal(err)
	}
	reg.Adjust = func(o *association.Options) {
		o.SyncTicks, o.CheckTicks = ticks, make(chan time.Time)
		o.OnSync = func(c association.Cycle) { synced <- c }
	}
	offer := maps.Clone(offer1)
	offer["sent_per_gb"] = 0.02
	gpu := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu", instance.Create, map[string]any{"offer": offer, "ready_timeout": "20s", "fallback": 0})
	gpuDir := w.ws(gpu.ID)
	actiontest.OK[files.CreateOutputs](t, w.Run, "files", files.Create, map[string]any{"on": gpu.ID, "dir": gpuDir, "count": 1, "size": 1024})
	actiontest.OK[standby.CreateOutputs](t, w.Run, "standby", standby.Create, map[string]any{
		"gpu": map[string]any{"id": gpu.ID, "provider": "vast"}, "path": gpuDir, "standby_path": t.TempDir(),
		"ready_timeout": "20s"})
	actiontest.OK[files.CreateOutputs](t, w.Run, "late", files.Create, map[string]any{"on": gpu.ID, "dir": gpuDir, "count": 2, "size": 4096, "prefix": "late-"})

	before := bandwidth(w, gpu.ID).SentBytes
	// Only a guard against a stuck loop, not a claim on how long a sync
	// takes: the test waits for the sync's end, not for time.
	hung := time.After(time.Minute)
	select {
	case ticks <- time.Now():
	case <-hung:
		t.Fatal("the sync loop never took the tick")
	}
	var c association.Cycle
	select {
	case c = <-synced:
	case <-hung:
		t.Fatal("the background sync never ended")
	}
	if c.Error != "" || c.Bytes < 2*4096 {
		t.Fatalf("the background sync after the late files: %+v, want their 8192 bytes at least", c)
	}
	bw := bandwidth(w, gpu.ID)
	n, usd := bw.SentBytes, bw.USD
	if n-before != c.Bytes+c.Listed || c.Listed <= 0 {
		t.Errorf("the GPU's bill counts %d bytes sent, %d before the background sync: want its %d and its listing's %d more", n, before, c.Bytes, c.Listed)
	}
	if usd != float64(n)*0.02/1e9 {
		t.Errorf("%d bytes sent billed $%v, want them at the offer's 0.02 $/GB", n, usd)
	}
}

// A planned move syncs the old GPU one last time before the copy: those
// bytes left the old GPU, and are on its bill as the new GPU's copy is on
// its own.
func TestAPlannedMovesLastSyncIsOnTheOldGPUsBill(t *testing.T) {
	w := newWorld(t)
	priced := func(offer map[string]any) map[string]any {
		o := maps.Clone(offer)
		o["sent_per_gb"], o["received_per_gb"] = 0.02, 0.01
		return o
	}
	gpu := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu", instance.Create, map[string]any{"offer": priced(offer1), "ready_timeout": "20s", "fallback": 0})
	gpuDir := w.ws(gpu.ID)
	actiontest.OK[files.CreateOutputs](t, w.Run, "files", files.Create, map[string]any{"on": gpu.ID, "dir": gpuDir, "count": 1, "size": 1024})
	sb := actiontest.OK[standby.CreateOutputs](t, w.Run, "standby", standby.Create, map[string]any{
		"gpu": map[string]any{"id": gpu.ID, "provider": "vast"}, "path": gpuDir, "standby_path": t.TempDir(),
		"sync_interval": "1h", "check_interval": "1h", "ready_timeout": "20s"})
	// Written after the first sync; the next background one is an hour away.
	actiontest.OK[files.CreateOutputs](t, w.Run, "late", files.Create, map[string]any{"on": gpu.ID, "dir": gpuDir, "count": 2, "size": 4096, "prefix": "late-"})
	offer2 := priced(offer1)
	offer2["id"] = "2"
	gpu2 := actiontest.OK[instance.CreateOutputs](t, w.Run, "gpu2", instance.Create, map[string]any{"offer": offer2, "ready_timeout": "20s", "fallback": 0})
	before := bandwidth(w, gpu.ID)
	fo := actiontest.OK[failover.RestoreOutputs](t, w.Run, "move", failover.Restore, map[string]any{"standby": sb.ID, "on": gpu2.ID})
	if !fo.Planned || fo.FileCount != 3 {
		t.Fatalf("failover.restore with the old GPU alive: %+v", fo)
	}
	if old := bandwidth(w, gpu.ID); old.SentBytes-before.SentBytes < 2*4096 || old.ReceivedBytes != before.ReceivedBytes {
		t.Errorf("the old GPU's traffic went from %+v to %+v, want the last sync's late files (8192 bytes at least) sent", before, old)
	}
	if nw := bandwidth(w, gpu2.ID); nw.ReceivedBytes != fo.Bytes || nw.SentBytes != 0 {
		t.Errorf("the new GPU's traffic %+v, want the copy's %d bytes received", nw, fo.Bytes)
	}
	// The copy left the standby, a GCP VM: Google bills its internet
	// egress (receiving is free), at scn's estimate of the rate, marked so,
	// and the run's total is then an estimate too. Its listings went to scn
	// too (a few hundred bytes for these files).
	sbw := bandwidth(w, sb.ID)
	if sbw.SentBytes < fo.Bytes || sbw.SentBytes > fo.Bytes+4096 || sbw.ReceivedPerGB != 0 || !sbw.Estimated ||
		math.Abs(sbw.USD-float64(sbw.SentBytes)*0.12/(1<<30)) > 1e-12 {
		t.Errorf("the standby's traffic %+v, want the copy's %d bytes and its listings sent at $0.12/GiB, estimated", sbw, fo.Bytes)
	}
	if c := w.Run.Resources.Cost(); !c.Estimated {
		t.Errorf("the run's cost %+v is not marked estimated though the standby's egress is", c)
	}
}

// bandwidth is the traffic on instance id's bill so far.
func bandwidth(w *world, id string) journal.Bandwidth {
	for _, r := range w.Run.Resources.Resources() {
		if r.ID == id && r.Bandwidth != nil {
			return *r.Bandwidth
		}
	}
	return journal.Bandwidth{}
}

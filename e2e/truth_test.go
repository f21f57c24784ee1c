package e2e

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report"
	"github.com/scnlabs/scn/internal/store/s3test"
)

// realtime-sync on vast against an API that answers at once, GPU A running
// from the first status read and GPU B loading for one, with VAST's real
// 5 s spacing of status reads: what the drill reports is the platform's.
// Steps that use a machine never ask the API (so never wait for a poll
// slot), readiness is seen by SSH probes between spaced polls, and the
// cost is what VAST bills: each instance's disk (its share of its own
// dph_total) over the seconds from its creation to the accepted DELETE,
// the rest of its dph_total only from when it ran.
func TestRealtimeSyncOnVastReportsThePlatformsFigures(t *testing.T) {
	t.Parallel()
	machines := newVastMachines(t)
	// 0.30 $/h for the machine, 0.90 $/GB-month of disk: the 20 GB rented
	// add 0.025 $/h, which the bill includes.
	running := []vasttest.Step{{Status: "running", Msg: "success, running"}}
	loads := append([]vasttest.Step{{Status: "loading", Msg: "Pulling image", Polls: 1}}, running...)
	offers := []vasttest.Offer{
		{ID: 2001, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.30, StorageCost: 0.90, Reliability: 0.995, DiskSpace: 120, Lifecycle: running,
			InetUpCost: 0.02, InetDownCost: 0.01},
		{ID: 2002, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.31, StorageCost: 0.90, Reliability: 0.995, DiskSpace: 120, Lifecycle: loads,
			InetUpCost: 0.03, InetDownCost: 0.015},
	}
	fake := vasttest.New(t, vasttest.Options{APIKey: vastAPIKey, Offers: offers, Credit: 25, SSH: machines.boot})
	machines.fake = fake
	b2 := s3test.StartServer(t, s3test.Options{})
	tgt, state := openVastTarget(t, fake, machines, b2, 0)
	if tgt.PollInterval != vast.DefaultPollInterval {
		t.Fatalf("the vast target polls every %v, want VAST's %v", tgt.PollInterval, vast.DefaultPollInterval)
	}

	d := runDrill(t, tgt, scenario("realtime-sync.yaml"), nil)
	mustPass(t, d)
	j := d.Journal
	fake.AssertAllDestroyed(t)

	// Steps that only use a machine make no status read: nothing in them
	// waits for VAST's poll slot.
	reads := fake.CallsTo(http.MethodGet, "/api/v0/instances/")
	for _, id := range []string{"files", "snap", "restore", "verify"} {
		s := step(t, j, id)
		for _, c := range reads {
			if !c.At.Before(s.StartedAt) && !c.At.After(s.EndedAt) {
				t.Errorf("step %s read %s: a step using a machine asked the provider", id, c.Path)
			}
		}
	}

	// Readiness: one status read said running; SSH probes (two dropped,
	// then two answered, a second apart) did the rest without the API.
	for _, gpu := range []string{"gpu_a", "gpu_b"} {
		s := step(t, j, gpu)
		id, _ := output(t, j, gpu, "id").(string)
		n := 0
		for _, c := range reads {
			if strings.Contains(c.Path, "/"+id+"/") && !c.At.After(s.EndedAt) {
				n++
			}
		}
		if n > 2 {
			t.Errorf("%s: %d status reads while waiting for SSH, want probes between spaced reads (1, at most 2)", gpu, n)
		}
		if rs, _ := output(t, j, gpu, "ready_seconds").(float64); rs <= 0 || rs > s.Seconds+1 {
			t.Errorf("%s: ready_seconds %v outside the step's %vs", gpu, rs, s.Seconds)
		}
	}

	// The cost is the bill: per instance, its disk over the seconds from
	// VAST's creation to the accepted DELETE, the machine from when it ran
	// (GPU B's loading read costs only its disk).
	billed, booked, loaded := 0.0, 0.0, 0
	for _, r := range j.Resources {
		if r.Kind != "instance" {
			continue
		}
		usd, secs := fake.Bill(r.ID)
		billed, booked = billed+usd, booked+r.CostUSD
		rec, _ := fake.Instance(r.ID)
		if loading := rec.RunningAt.Sub(rec.CreatedAt()).Seconds(); loading > 1 {
			loaded++
			if whole := r.PricePerHour * r.LifetimeSeconds / 3600; r.CostUSD > whole-0.30*(loading-1)/3600 {
				t.Errorf("instance %s loaded %.1fs and cost $%.6f, the whole dph_total over its life: $%.6f", r.ID, loading, r.CostUSD, whole)
			}
		}
		if math.Abs(r.CostUSD-usd) > 0.34*1.0/3600 {
			t.Errorf("instance %s cost $%.6f in the journal, VAST billed $%.6f", r.ID, r.CostUSD, usd)
		}
		if math.Abs(r.PricePerHour-0.325) > 1e-9 && math.Abs(r.PricePerHour-0.335) > 1e-9 {
			t.Errorf("instance %s priced $%v/h, want its dph_total with 20 GB of disk", r.ID, r.PricePerHour)
		}
		if math.Abs(r.LifetimeSeconds-secs) > 0.5 {
			t.Errorf("instance %s: lifetime %.3fs, VAST billed %.3fs", r.ID, r.LifetimeSeconds, secs)
		}
		if r.Estimated || r.PriceSource != "" {
			t.Errorf("instance %s: VAST's own price marked %q (estimated %v)", r.ID, r.PriceSource, r.Estimated)
		}
	}
	if math.Abs(booked-billed) > 0.34*1.0/3600 || loaded != 1 {
		t.Errorf("instances cost $%.6f in the journal, VAST billed $%.6f (%d loaded, want GPU B)", booked, billed, loaded)
	}

	// Bandwidth: VAST bills every byte an instance sends and receives at
	// its offer's prices. GPU A received the test files (the tar stream
	// files.create sent: a 512-byte header and the content padded to 512
	// per file, two zero blocks at the end) and sent the snapshot's object
	// to the store, GPU B received it; its size is the store's own (the
	// restore checks the object's size against the manifest before it
	// reads a byte).
	written := int64(1024)
	for _, f := range output(t, j, "files", "files").([]any) {
		size := int64(f.(map[string]any)["size"].(float64))
		written += 512 + (size+511)/512*512
	}
	var stored int64
	for _, tr := range j.Snapshots {
		if tr.Kind == "snapshot" {
			stored = tr.BytesStored
		}
	}
	if stored <= 0 {
		t.Errorf("no snapshot's stored size in the journal (%d)", stored)
	}
	gpuA, _ := output(t, j, "gpu_a", "id").(string)
	gpuB, _ := output(t, j, "gpu_b", "id").(string)
	wants := map[string]journal.Bandwidth{
		gpuA: {SentBytes: stored, ReceivedBytes: written, SentPerGB: 0.02, ReceivedPerGB: 0.01, USD: (float64(stored)*0.02 + float64(written)*0.01) / 1e9},
		gpuB: {ReceivedBytes: stored, SentPerGB: 0.03, ReceivedPerGB: 0.015, USD: float64(stored) * 0.015 / 1e9},
	}
	checked := 0
	for _, r := range j.Resources {
		want, ok := wants[r.ID]
		if r.Kind != "instance" || !ok {
			continue
		}
		checked++
		if r.Bandwidth == nil || *r.Bandwidth != want {
			t.Errorf("instance %s: bandwidth %+v, want %+v (the snapshot's %d bytes, the files' %d, at its offer's prices)", r.ID, r.Bandwidth, want, stored, written)
		}
	}
	if checked != 2 || len(wants) != 2 {
		t.Errorf("bandwidth checked on %d instance resources, want GPU A's (%q) and GPU B's (%q)", checked, gpuA, gpuB)
	}

	// One number everywhere: the journal's total is its resources' sum,
	// metrics.json carries it, the console shows it labelled.
	sum := 0.0
	for _, r := range j.Resources {
		sum += r.CostUSD
		if r.Kind == "snapshot" && (!r.Estimated || !strings.Contains(r.PriceSource, "B2")) {
			t.Errorf("snapshot %s in B2 priced %v/h from %q, want B2's price list, marked estimated", r.ID, r.PricePerHour, r.PriceSource)
		}
	}
	if j.Cost.TotalUSD != sum || !j.Cost.Estimated {
		t.Errorf("journal cost %+v, want the resources' sum %v, marked estimated (B2 storage)", j.Cost, sum)
	}
	raw, err := os.ReadFile(filepath.Join(d.Dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m report.MetricsFile
	if err := json.Unmarshal(raw, &m); err != nil || m.Cost.EstimatedTotalUSD != j.Cost.TotalUSD {
		t.Errorf("metrics.json cost %+v (%v), journal $%v", m.Cost, err, j.Cost.TotalUSD)
	}
	if label := report.CostText(j.Cost); !strings.Contains(d.Console, label) {
		t.Errorf("the console does not show the cost as %q", label)
	}
	assertNoSecrets(t, d.Console, []string{vastAPIKey, s3test.SecretAccessKey, s3test.AccessKeyID}, state)
}

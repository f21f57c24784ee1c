package vast_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vasttest"
)

// The bill ends when VAST accepted the DELETE, not at the later status
// read that no longer shows the instance.
func TestDestroyBilledEndsAtTheAcceptedDelete(t *testing.T) {
	f := vasttest.New(t, vasttest.Options{Offers: rtxOffers, DestroyLag: 3})
	p := newProvider(t, f, func(c *vast.Config) { c.PollInterval = 20 * time.Millisecond })
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	billedUntil, err := cloud.DestroyBilled(ctx, p, inst.ID, cloud.ReasonUser)
	if err != nil {
		t.Fatal(err)
	}
	del := f.CallsTo(http.MethodDelete, "/api/v0/instances/")
	reads := f.CallsTo(http.MethodGet, "/api/v0/instances/")
	if len(del) != 1 || len(reads) != 4 {
		t.Fatalf("%d DELETEs and %d reads, want 1 and 4 (three still showing it)", len(del), len(reads))
	}
	if billedUntil.Before(del[0].At) || !billedUntil.Before(reads[0].At) {
		t.Errorf("billed until %v: want between the DELETE (%v) and the first confirming read (%v)",
			billedUntil, del[0].At, reads[0].At)
	}
	rec, _ := f.Instance(inst.ID)
	if d := billedUntil.Sub(rec.DeletedAt); d < 0 || d > time.Second {
		t.Errorf("billed until %v, VAST stopped billing at %v", billedUntil, rec.DeletedAt)
	}
	f.AssertAllDestroyed(t)
}

// Searches price the disk the step will rent (allocated_storage, as the
// CLI's --storage), so max_price filters what will be billed; the rented
// instance's own dph_total, storage included, is its price.
func TestOffersPriceTheDiskAndTheInstanceCarriesItsOwnPrice(t *testing.T) {
	// 0.40 $/h machine, 0.36 $/GB/month disk: 100 GB add 0.05 $/h.
	f := vasttest.New(t, vasttest.Options{Offers: []vasttest.Offer{
		{ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.40, StorageCost: 0.36, Reliability: 0.99, DiskSpace: 500},
	}})
	f.StartSSHServers(t, nil)
	p := newProvider(t, f)
	ctx := context.Background()
	if got, err := p.Offers(ctx, cloud.OfferQuery{GPU: "RTX_4090", MaxPrice: 0.44, DiskGB: 100}); err != nil || len(got) != 0 {
		t.Fatalf("an offer over max_price once its disk is priced was returned: %+v, %v", got, err)
	}
	got, err := p.Offers(ctx, cloud.OfferQuery{GPU: "RTX_4090", MaxPrice: 0.46, DiskGB: 100})
	if err != nil || len(got) != 1 || math.Abs(got[0].PricePerHour-0.45) > 1e-9 {
		t.Fatalf("offers priced with 100 GB: %+v, %v; want one at 0.45 $/h", got, err)
	}
	var body map[string]any
	calls := f.CallsTo(http.MethodPost, "/api/v0/bundles/")
	if err := json.Unmarshal([]byte(calls[len(calls)-1].Body), &body); err != nil || body["allocated_storage"] != 100.0 {
		t.Errorf("search body %v: want allocated_storage 100", body)
	}
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: got[0], Label: "scn-r-a", DiskGB: 100})
	if err != nil {
		t.Fatal(err)
	}
	ready, err := cloud.WaitReady(ctx, p, inst.ID, cloud.WaitOptions{Interval: time.Millisecond, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(ready.PricePerHour-0.45) > 1e-9 || math.Abs(ready.StoragePerHour-0.05) > 1e-12 {
		t.Errorf("instance price %v of which %v storage, want its dph_total 0.45 (machine and disk) with 0.05 for the disk",
			ready.PricePerHour, ready.StoragePerHour)
	}
	destroyAll(t, p, inst.ID)
	// VAST bills the disk from creation, the machine from when it ran
	// (after a loading read): scn saw that with the read that made it so.
	usd, secs := f.Bill(inst.ID)
	rec, _ := f.Instance(inst.ID)
	ran := rec.DeletedAt.Sub(rec.RunningAt).Seconds()
	if math.Abs(usd-(0.05*secs+0.40*ran)/3600) > 1e-12 || secs <= 0 || ran <= 0 || ran >= secs {
		t.Errorf("bill %v for %vs, %vs of them running", usd, secs, ran)
	}
	if d := rec.RunningAt.Sub(ready.RunningAt); d < 0 || d > time.Second {
		t.Errorf("scn read it running at %v, VAST ran it at %v", ready.RunningAt, rec.RunningAt)
	}
	f.AssertAllDestroyed(t)
}

// VAST may still show an instance for a few reads after it accepted the
// DELETE, no longer offline (the fake: exited). Its bill ended at the
// DELETE: those reads must not undo a pause seen before it, or the disk
// of a GPU whose host went offline is billed for time VAST did not bill.
func TestReadsAfterTheDeleteKeepThePause(t *testing.T) {
	f, p, inst := pausing(t, "offline", 2) // read running, then offline
	ctx := context.Background()
	seen := p.Paused(inst.ID)
	if seen.Machine.IsZero() || seen.Storage.IsZero() {
		t.Fatalf("read offline, paused %+v", seen)
	}
	billedUntil, err := cloud.DestroyBilled(ctx, p, inst.ID, cloud.ReasonUser)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.CallsTo(http.MethodGet, "/api/v0/instances/")); n != 2+3 {
		t.Fatalf("%d status reads, want 2 before the DELETE and 3 after (two still showing it)", n)
	}
	if got := p.Paused(inst.ID); got != seen || !got.Storage.Before(billedUntil) {
		t.Errorf("after the destroy (billed until %v) paused %+v, want %+v as read before it", billedUntil, got, seen)
	}
	f.AssertAllDestroyed(t)
}

// The stop happened before the read saying stopped was answered, maybe
// after it was sent: pausing the bill at the answer never counts less
// than VAST billed (docs/decisions.md, "Money"); at the send, it would
// pause before VAST did.
func TestAPauseStartsNoEarlierThanVASTs(t *testing.T) {
	for _, status := range []string{"stopped", "offline"} {
		t.Run(status, func(t *testing.T) {
			f, p, inst := pausing(t, status, 0)
			rec, _ := f.Instance(inst.ID)
			got := p.Paused(inst.ID)
			if rec.StoppedAt.IsZero() || got.Machine.Before(rec.StoppedAt) || got.Storage.IsZero() != (status != "offline") ||
				(!got.Storage.IsZero() && got.Storage.Before(rec.StoppedAt)) {
				t.Errorf("VAST paused it at %v, scn at %+v", rec.StoppedAt, got)
			}
			destroyAll(t, p, inst.ID)
			f.AssertAllDestroyed(t)
		})
	}
}

// pausing rents an instance that runs for one status read and is then
// status (stopped, offline) for good, reads it twice (running, then
// status), and returns it; destroyLag is the fake's Options.DestroyLag.
func pausing(t *testing.T, status string, destroyLag int) (*vasttest.Fake, *vast.Provider, *cloud.Instance) {
	t.Helper()
	life := []vasttest.Step{{Status: "running", Polls: 1}, {Status: status}}
	f := vasttest.New(t, vasttest.Options{DestroyLag: destroyLag, Offers: []vasttest.Offer{
		{ID: 1, GPUName: "RTX 4090", NumGPUs: 1, DPHTotal: 0.40, StorageCost: 0.90, Reliability: 0.99, DiskSpace: 100, Lifecycle: life}}})
	p := newProvider(t, f)
	inst, err := p.Create(context.Background(), cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := p.Get(context.Background(), inst.ID); err != nil {
			t.Fatal(err)
		}
	}
	return f, p, inst
}

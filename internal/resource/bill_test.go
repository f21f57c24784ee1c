package resource

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/undo"
)

// The lifetime billed runs from the provider's creation time to the moment
// it accepted the destroy, at the price of the resource itself — not from
// when scn heard of it to when scn saw the destroy confirmed, at the offer's.
func TestLifetimeIsWhatTheProviderBills(t *testing.T) {
	clock := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	tr := NewTracker("run1", "vast", nil, &undo.Stack{})
	tr.now = func() time.Time { return clock }
	pend, err := tr.Begin(Spec{Step: "gpu", Kind: "instance", Provider: "vast"})
	if err != nil {
		t.Fatal(err)
	}
	providerCreated := clock.Add(-2 * time.Second) // the rent's answer came 2 s after VAST created it
	accepted := clock.Add(100 * time.Second)
	var h *Handle
	h = pend.Created("42", 0.40, false, nil, func(context.Context, string) error {
		clock = accepted.Add(15 * time.Second) // confirmed gone three polls later
		h.BillingEnded(accepted)
		return nil
	})
	h.Bill(providerCreated, 0.45) // the instance's dph_total, its disk included
	if err := h.Destroy(context.Background(), "user"); err != nil {
		t.Fatal(err)
	}
	r := tr.Resources()[0]
	if r.LifetimeSeconds != 102 || !r.CreatedAt.Equal(providerCreated) || !r.DestroyedAt.Equal(accepted) {
		t.Errorf("lifetime %vs from %v to %v, want 102s from the provider's creation to the accepted destroy",
			r.LifetimeSeconds, r.CreatedAt, r.DestroyedAt)
	}
	if want := 0.45 * 102 / 3600; math.Abs(r.CostUSD-want) > 1e-12 || r.PricePerHour != 0.45 {
		t.Errorf("cost %v at %v/h, want %v at the instance's price", r.CostUSD, r.PricePerHour, want)
	}
}

// A provider clock a little ahead of scn's never makes a negative lifetime.
func TestLifetimeNeverNegative(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	tr := NewTracker("run1", "vast", nil, &undo.Stack{})
	tr.now = func() time.Time { return now }
	pend, _ := tr.Begin(Spec{Kind: "instance"})
	h := pend.Created("1", 1, false, nil, func(context.Context, string) error { return nil })
	h.Bill(now.Add(time.Second), 0)
	if r := tr.Resources()[0]; r.LifetimeSeconds != 0 || r.CostUSD != 0 {
		t.Errorf("lifetime %v, cost %v", r.LifetimeSeconds, r.CostUSD)
	}
}

// A provider with a minimum charge bills at least that: a Compute Engine
// VM destroyed after 20 s costs a minute (its lifetime stays 20 s).
func TestCostIsAtLeastTheProvidersMinimum(t *testing.T) {
	clock := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	tr := NewTracker("run1", "vast", nil, &undo.Stack{})
	tr.now = func() time.Time { return clock }
	pend, _ := tr.Begin(Spec{Step: "standby", Kind: "standby", Provider: "gcp"})
	h := pend.Created("vm", 0.012, false, nil, func(context.Context, string) error { clock = clock.Add(20 * time.Second); return nil })
	h.MinBilled(60)
	if err := h.Destroy(context.Background(), "user"); err != nil {
		t.Fatal(err)
	}
	r := tr.Resources()[0]
	if want := 0.012 * 60 / 3600; r.LifetimeSeconds != 20 || math.Abs(r.CostUSD-want) > 1e-12 || r.MinBilledSeconds != 60 {
		t.Errorf("lifetime %vs, cost %v (minimum %vs), want 20s costing a minute: %v", r.LifetimeSeconds, r.CostUSD, r.MinBilledSeconds, want)
	}
}

// VAST bills the disk for as long as the instance exists and the machine
// only from when it ran: an instance that loaded 50 s of its 150 costs
// its storage for 150 s and the rest of its price for 100 s; one given up
// while loading costs only its disk.
func TestCostBillsTheMachineOnlyFromWhenItRan(t *testing.T) {
	clock := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	tr := NewTracker("run1", "vast", nil, &undo.Stack{})
	tr.now = func() time.Time { return clock }
	const price, storage = 0.325, 0.025 // dph_total, and its 20 GB at 0.90 $/GB-month
	rent := func(id string, runningAt time.Time) *Handle {
		pend, _ := tr.Begin(Spec{Step: "gpu", Kind: "instance", Provider: "vast"})
		h := pend.Created(id, price, false, nil, func(context.Context, string) error { return nil })
		h.Running(runningAt, storage)
		return h
	}
	ran := rent("1", clock.Add(50*time.Second))
	loading := rent("2", time.Time{})
	clock = clock.Add(150 * time.Second)
	for _, h := range []*Handle{ran, loading} {
		if err := h.Destroy(context.Background(), "user"); err != nil {
			t.Fatal(err)
		}
	}
	rs := tr.Resources()
	want := []float64{(storage*150 + (price-storage)*100) / 3600, storage * 150 / 3600}
	for i, r := range rs {
		if r.LifetimeSeconds != 150 || math.Abs(r.CostUSD-want[i]) > 1e-12 {
			t.Errorf("instance %s: %vs costing %v, want 150s costing %v", r.ID, r.LifetimeSeconds, r.CostUSD, want[i])
		}
	}
	if !rs[0].RunningAt.Equal(clock.Add(-100*time.Second)) || rs[0].StoragePerHour != storage || !rs[1].RunningAt.IsZero() {
		t.Errorf("records %+v", rs)
	}
	// Without a storage part the whole price runs from creation, as before.
	pend, _ := tr.Begin(Spec{Step: "standby", Kind: "standby", Provider: "gcp"})
	h := pend.Created("vm", 0.012, false, nil, func(context.Context, string) error { return nil })
	h.Running(clock.Add(time.Hour), 0)
	clock = clock.Add(100 * time.Second)
	if r := tr.Resources()[2]; r.CostUSD != 0.012*100/3600 || !r.RunningAt.IsZero() {
		t.Errorf("a price without a storage part: cost %v, running at %v", r.CostUSD, r.RunningAt)
	}
}

// The rate the budget looks ahead with is what each machine is billed now:
// VAST's disk only while the GPU loads or is stopped, nothing while it is
// offline, the whole price while it runs; a price without a storage part
// (a GCP standby) runs whole; a destroyed machine costs nothing more.
func TestRateNowIsWhatIsBilledNow(t *testing.T) {
	clock := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	tr := NewTracker("run1", "vast", nil, &undo.Stack{})
	tr.now = func() time.Time { return clock }
	const price, storage = 0.325, 0.025
	paused := map[string][2]time.Time{}
	rent := func(id string, runningAt time.Time) *Handle {
		pend, _ := tr.Begin(Spec{Step: "gpu", Kind: "instance", Provider: "vast"})
		h := pend.Created(id, price, false, nil, func(context.Context, string) error { return nil })
		h.Running(runningAt, storage)
		h.PausedFrom(func() (time.Time, time.Time) { return paused[id][0], paused[id][1] })
		return h
	}
	rent("running", clock)
	rent("loading", time.Time{})
	rent("stopped", clock)
	rent("offline", clock)
	gone := rent("destroyed", clock)
	pend, _ := tr.Begin(Spec{Step: "standby", Kind: "standby", Provider: "gcp"})
	pend.Created("vm", 0.012, false, nil, func(context.Context, string) error { return nil })
	clock = clock.Add(time.Minute)
	at := clock.Add(-time.Second)
	paused["stopped"] = [2]time.Time{at, {}}
	paused["offline"] = [2]time.Time{at, at}
	if err := gone.Destroy(context.Background(), "user"); err != nil {
		t.Fatal(err)
	}
	if got, want := tr.RateNow(), price+storage+storage+0+0.012; math.Abs(got-want) > 1e-12 {
		t.Errorf("RateNow = %v, want %v: running %v, loading and stopped %v each (their disk), offline 0, the VM 0.012", got, want, price, storage)
	}
}

// A machine paused before its destroy is billed as the provider paused
// it: its running part only until it stopped (VAST: stopped, as when
// outbid), its storage too until it went offline. A pause the provider
// reports after the bill's end (the reads confirming the destroy may say
// stopped too) changes nothing, and it is read when the bill is, so a
// pause seen after the handle was made still counts.
func TestCostPausesWhereTheProviderPaused(t *testing.T) {
	clock := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	tr := NewTracker("run1", "vast", nil, &undo.Stack{})
	tr.now = func() time.Time { return clock }
	const price, storage = 0.325, 0.025
	type pause struct{ machine, storage time.Time }
	pauses := map[string]pause{}
	rent := func(id string) *Handle {
		pend, _ := tr.Begin(Spec{Step: "gpu", Kind: "instance", Provider: "vast"})
		h := pend.Created(id, price, false, nil, func(context.Context, string) error { return nil })
		h.Running(clock.Add(10*time.Second), storage)
		h.PausedFrom(func() (time.Time, time.Time) { return pauses[id].machine, pauses[id].storage })
		return h
	}
	stopped, offline, destroying := rent("1"), rent("2"), rent("3")
	clock = clock.Add(200 * time.Second)
	pauses["1"] = pause{machine: clock.Add(-130 * time.Second)} // ran 60 s of its 200
	at := clock.Add(-100 * time.Second)                         // ran 90 s, stored 100
	pauses["2"] = pause{machine: at, storage: at}
	pauses["3"] = pause{machine: clock.Add(time.Second)} // a read after the DELETE
	for _, h := range []*Handle{stopped, offline, destroying} {
		if err := h.Destroy(context.Background(), "user"); err != nil {
			t.Fatal(err)
		}
	}
	rs := tr.Resources()
	for i, c := range []struct {
		stored, ran      float64
		stopped, offline time.Time
	}{
		{200, 60, pauses["1"].machine, time.Time{}},
		{100, 90, at, at},
		{200, 190, time.Time{}, time.Time{}},
	} {
		r := rs[i]
		want := (storage*c.stored + (price-storage)*c.ran) / 3600
		if math.Abs(r.CostUSD-want) > 1e-12 || !r.StoppedAt.Equal(c.stopped) || !r.OfflineAt.Equal(c.offline) {
			t.Errorf("instance %s: cost %v stopped at %v offline at %v, want %v stopped at %v offline at %v",
				r.ID, r.CostUSD, r.StoppedAt, r.OfflineAt, want, c.stopped, c.offline)
		}
	}
}

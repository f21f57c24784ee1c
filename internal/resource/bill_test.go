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

package gcp_test

import (
	"math"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
)

func TestOffers(t *testing.T) {
	r := newRig(t, nil)
	all, err := r.p.Offers(r.ctx, cloud.OfferQuery{})
	if err != nil || len(all) != 1 {
		t.Fatalf("Offers = %v, %v", all, err)
	}
	o := all[0]
	if o.Provider != "gcp" || o.GPU != "e2-medium" || o.NumGPUs != 0 || o.Location != "us-central1-a" || o.DiskGB != 20 ||
		o.PricePerHour < 0.01 || o.PricePerHour > 0.034 || o.Simulated {
		t.Errorf("offer = %+v", o)
	}
	// Google bills what the VM sends to the internet ($0.12/GiB, Premium
	// Tier to North America: per 10⁹ bytes, 0.1118), not what it receives;
	// the rate is scn's estimate, and says so.
	if math.Abs(o.SentPerGB-0.12*1e9/(1<<30)) > 1e-12 || o.ReceivedPerGB != 0 ||
		!strings.HasPrefix(o.TrafficSource, "estimated: ") || !strings.Contains(o.TrafficSource, "network-pricing") {
		t.Errorf("offer's traffic prices: sent %v, received %v, from %q", o.SentPerGB, o.ReceivedPerGB, o.TrafficSource)
	}
	for _, tc := range []struct {
		name string
		q    cloud.OfferQuery
		want int
	}{
		{"cheap enough", cloud.OfferQuery{MaxPrice: 0.02}, 1},
		{"by machine type", cloud.OfferQuery{GPU: "E2-MEDIUM"}, 1},
		{"disk fits", cloud.OfferQuery{MinDiskGB: 20}, 1},
		{"reliable", cloud.OfferQuery{MinReliability: 0.99}, 1},
		{"too expensive", cloud.OfferQuery{MaxPrice: 0.005}, 0},
		{"a GPU model", cloud.OfferQuery{GPU: "RTX_4090"}, 0},
		{"GPUs", cloud.OfferQuery{NumGPUs: 1}, 0},
		{"bigger disk", cloud.OfferQuery{MinDiskGB: 50}, 0},
	} {
		if got, err := r.p.Offers(r.ctx, tc.q); err != nil || len(got) != tc.want {
			t.Errorf("Offers(%s) = %d offers (%v), want %d", tc.name, len(got), err, tc.want)
		}
	}

	// A machine type outside the catalogue has no price: never under a limit.
	r2 := newRig(t, func(c *gcp.Config) { c.MachineType = "n4-standard-2" })
	if got, _ := r2.p.Offers(r2.ctx, cloud.OfferQuery{MaxPrice: 10}); len(got) != 0 {
		t.Errorf("unpriced machine type offered under a price limit: %+v", got)
	}
	if got, _ := r2.p.Offers(r2.ctx, cloud.OfferQuery{}); len(got) != 1 || got[0].GPU != "n4-standard-2" {
		t.Errorf("unpriced machine type without a limit: %+v", got)
	}
}

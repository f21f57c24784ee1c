package gcp_test

import (
	"math"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/gcp"
	"github.com/scnlabs/scn/internal/cloud/gcp/gcptest"
)

// Prices come from Google's price list (the Cloud Billing Catalog, read
// once with the provider's credentials, all its pages), for the zone's
// region and the provisioning model rented.
func TestPricesComeFromTheBillingCatalog(t *testing.T) {
	for _, onDemand := range []bool{false, true} {
		r := newRig(t, func(c *gcp.Config) { c.OnDemand = onDemand })
		p := gcptest.DefaultE2Prices
		want := p.SpotCore + 4*p.SpotRAM // e2-medium: 1 vCPU, 4 GiB
		if onDemand {
			want = p.Core + 4*p.RAM
		}
		for range 2 {
			got, err := r.p.Offers(r.ctx, cloud.OfferQuery{})
			if err != nil || len(got) != 1 {
				t.Fatalf("offers: %v, %v", got, err)
			}
			if o := got[0]; math.Abs(o.PricePerHour-want) > 1e-9 || o.Estimated || o.PriceSource != "gcp billing catalog 2026-11-01" {
				t.Errorf("on demand %v: offer priced %v from %q (estimated %v), want %v from the catalogue",
					onDemand, o.PricePerHour, o.PriceSource, o.Estimated, want)
			}
		}
		var pages int
		for _, c := range r.fake.Calls() {
			if strings.HasPrefix(c.Path, "/v1/services/") {
				pages++
				if !c.Authed || c.Query.Get("currencyCode") != "USD" {
					t.Errorf("catalogue call %+v: want authenticated, in USD", c)
				}
			}
		}
		if pages != 3 {
			t.Errorf("%d catalogue pages read for two searches, want the 3 pages once", pages)
		}
	}
}

// Without the catalogue (the Cloud Billing API not enabled), the built-in
// table prices the machine, marked estimated with its date: never a bill.
func TestPricesFallBackToTheTableMarkedEstimated(t *testing.T) {
	r := newRig(t, nil)
	r.fake.DisableBilling()
	got, err := r.p.Offers(r.ctx, cloud.OfferQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("offers: %v, %v", got, err)
	}
	o := got[0]
	if !o.Estimated || !strings.HasPrefix(o.PriceSource, "estimated:") || !strings.Contains(o.PriceSource, "2024") ||
		math.Abs(o.PricePerHour-0.0101) > 0.0005 {
		t.Errorf("offer without the catalogue: %+v", o)
	}
}

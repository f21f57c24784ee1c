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
		pages := r.fake.CatalogCalls()
		for _, c := range pages {
			if !c.Authed || c.Query.Get("currencyCode") != "USD" || c.Path != "/v1/services/6F81-5844-456A/skus" {
				t.Errorf("catalogue call %+v: want Compute Engine's SKUs, authenticated, in USD", c)
			}
		}
		if len(pages) != 3 {
			t.Errorf("%d catalogue pages read for two searches, want the 3 pages once", len(pages))
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

// A VM rented without an offer search (an offer passed in) carries the
// catalogue's price too.
func TestCreatedVMCarriesTheCatalogPrice(t *testing.T) {
	r := newRig(t, nil)
	inst := r.create(t, "scn-priced")
	defer r.destroy(t, inst.ID)
	p := gcptest.DefaultE2Prices
	if want := p.SpotCore + 4*p.SpotRAM; math.Abs(inst.PricePerHour-want) > 1e-9 || inst.Estimated ||
		!strings.HasPrefix(inst.PriceSource, "gcp billing catalog") {
		t.Errorf("created VM priced %v from %q (estimated %v), want %v from the catalogue", inst.PricePerHour, inst.PriceSource, inst.Estimated, want)
	}
}

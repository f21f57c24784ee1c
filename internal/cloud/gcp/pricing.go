package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	cloudbilling "google.golang.org/api/cloudbilling/v1"
)

// computeService is Compute Engine's id in the Cloud Billing Catalog
// (cloud.google.com/billing/v1/how-tos/catalog-api: services/6F81-5844-456A).
const computeService = "services/6F81-5844-456A"

// maxCatalogPages bounds the SKU listing (Compute Engine has a few
// thousand SKUs; pages hold up to 5000).
const maxCatalogPages = 20

// minBilledSeconds is Compute Engine's minimum charge for a VM: "All
// vCPUs, GPUs, and GB of memory are charged a minimum of 1 minute … After
// 1 minute, instances are charged in 1 second increments"
// (cloud.google.com/compute/vm-instance-pricing, "Billing model for
// virtual machine instances"). A standby destroyed after 20 s costs a
// minute.
const minBilledSeconds = 60

// estimateSource names the built-in table when the catalogue cannot be
// read: its rates are as recorded on that date, not the bill.
const estimateSource = "estimated: built-in E2 us-central1 rates recorded 2024"

// quote is a machine type's hourly price and where it comes from.
type quote struct {
	perHour   float64
	known     bool   // false: the machine type is priced nowhere
	source    string // "gcp billing catalog <effective date>" or estimateSource
	estimated bool   // from the built-in table, not Google's price list
}

// rates are per-vCPU-hour and per-GiB-hour prices of the E2 family in one
// region, on demand and Spot, from the Cloud Billing Catalog.
type rates struct {
	core, ram         float64
	spotCore, spotRAM float64
	effective         string // the newest effectiveTime among the SKUs, a date
}

// pricing caches what the catalogue said, once per provider: prices
// change at most monthly, a drill lasts minutes.
type pricing struct {
	mu     sync.Mutex
	loaded bool
	rates  *rates // nil: the catalogue could not be read
	err    error  // why not
}

// loadPrices reads the E2 rates of the provider's region from the Cloud
// Billing Catalog, once; a failure (API not enabled, no permission, no
// network) is kept and the built-in table is used, marked estimated.
func (p *Provider) loadPrices(ctx context.Context) {
	p.prices.mu.Lock()
	defer p.prices.mu.Unlock()
	if p.prices.loaded || p.billing == nil {
		return
	}
	p.prices.loaded = true
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p.prices.rates, p.prices.err = catalogRates(ctx, p.billing, region(p.cfg.Zone))
}

// price is machine's hourly price: from the catalogue when it was read,
// else the built-in table, marked estimated.
func (p *Provider) price(machine string, spot bool) quote {
	shape, ok := e2Shapes[machine]
	p.prices.mu.Lock()
	r := p.prices.rates
	p.prices.mu.Unlock()
	if ok && r != nil {
		q := quote{perHour: shape.vcpus*r.core + shape.gb*r.ram, known: true, source: "gcp billing catalog " + r.effective}
		if spot {
			q.perHour = shape.vcpus*r.spotCore + shape.gb*r.spotRAM
		}
		return q
	}
	price, known := hourlyPrice(machine, spot)
	return quote{perHour: price, known: known, source: estimateSource, estimated: true}
}

// region is the zone's region: us-central1-a → us-central1.
func region(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 {
		return zone[:i]
	}
	return zone
}

// catalogRates lists Compute Engine's SKUs in USD and picks the E2 core and
// RAM SKUs of region: "E2 Instance Core running in …" (OnDemand) and
// "Spot Preemptible E2 Instance Core running in …" (Preemptible), and the
// same for "Ram". Each price is the SKU's newest pricingInfo, first tier,
// per usage unit (h for cores, GiBy.h for RAM).
func catalogRates(ctx context.Context, svc *cloudbilling.APIService, region string) (*rates, error) {
	var r rates
	found := map[string]bool{}
	pages := 0
	errStop := errors.New("stop")
	err := svc.Services.Skus.List(computeService).CurrencyCode("USD").PageSize(5000).Pages(ctx, func(resp *cloudbilling.ListSkusResponse) error {
		for _, sku := range resp.Skus {
			key, price, eff, ok := e2Rate(sku, region)
			if !ok || found[key] {
				continue
			}
			found[key] = true
			switch key {
			case "core":
				r.core = price
			case "ram":
				r.ram = price
			case "spot-core":
				r.spotCore = price
			case "spot-ram":
				r.spotRAM = price
			}
			r.effective = max(r.effective, eff)
		}
		if pages++; len(found) == 4 || pages >= maxCatalogPages {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("gcp: reading Compute Engine prices from the Cloud Billing Catalog: %w", err)
	}
	if len(found) < 4 {
		return nil, fmt.Errorf("gcp: the Cloud Billing Catalog lists no E2 core and RAM prices (on demand and Spot) for %s", region)
	}
	return &r, nil
}

// e2Rate reads one SKU: which E2 rate it is (core, ram, spot-core,
// spot-ram), its USD price per unit and the date it took effect.
func e2Rate(sku *cloudbilling.Sku, region string) (key string, price float64, effective string, ok bool) {
	if sku.Category == nil || sku.Category.ResourceFamily != "Compute" || len(sku.PricingInfo) == 0 {
		return "", 0, "", false
	}
	inRegion := false
	for _, r := range sku.ServiceRegions {
		inRegion = inRegion || r == region
	}
	d := sku.Description
	spot := strings.HasPrefix(d, "Spot Preemptible E2 Instance ")
	if !inRegion || (!spot && !strings.HasPrefix(d, "E2 Instance ")) {
		return "", 0, "", false
	}
	switch {
	case sku.Category.ResourceGroup == "CPU" && strings.Contains(d, " Core "):
		key = "core"
	case sku.Category.ResourceGroup == "RAM" && strings.Contains(d, " Ram "):
		key = "ram"
	default:
		return "", 0, "", false
	}
	if spot != (sku.Category.UsageType == "Preemptible") || (!spot && sku.Category.UsageType != "OnDemand") {
		return "", 0, "", false
	}
	if spot {
		key = "spot-" + key
	}
	info := sku.PricingInfo[len(sku.PricingInfo)-1]
	if info.PricingExpression == nil || len(info.PricingExpression.TieredRates) == 0 {
		return "", 0, "", false
	}
	m := info.PricingExpression.TieredRates[0].UnitPrice
	if m == nil || (m.CurrencyCode != "" && m.CurrencyCode != "USD") {
		return "", 0, "", false
	}
	price = float64(m.Units) + float64(m.Nanos)/1e9
	if t, err := time.Parse(time.RFC3339, info.EffectiveTime); err == nil {
		effective = t.UTC().Format(time.DateOnly)
	}
	return key, price, effective, true
}

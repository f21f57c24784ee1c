package gcp

import (
	"context"
	"strings"

	"github.com/scnlabs/scn/internal/cloud"
)

// E2 hourly rates in USD for us-central1 (Iowa), per billed vCPU and per GB
// of memory, from Google's price list (cloud.google.com/compute/vm-instance-pricing
// and cloud.google.com/spot-vms/pricing) as recorded in 2024; not re-checked
// since (scn has no network access to the pricing pages). They are the
// fallback when the Cloud Billing Catalog cannot be read (pricing.go), and
// are then marked estimated. On-demand E2 rates
// have been stable for years; Spot rates float (Google may change them up to
// once a month) and differ by region, so prices here are estimates for the
// drill's cost report, not a bill. e2-medium comes to $0.0335/h on demand and
// about $0.0101/h Spot.
const (
	e2VCPUOnDemand = 0.021811
	e2GBOnDemand   = 0.002923
	e2VCPUSpot     = 0.006543
	e2GBSpot       = 0.000877
)

// Internet egress from a VM, which Google bills per GiB sent (receiving is
// free): Premium Tier (a project's default network tier, which scn's VMs
// use: create.go sets none) to North America, $0.12 per GiB from the
// second GiB to the 1,024th of the month (cloud.google.com/vpc/network-pricing,
// as transcribed on 2026-09-20). Other destinations cost more or less,
// later TiB less, Standard Tier less, and the month's first GiB nothing:
// scn cannot know the destination (the store's region, or wherever scn
// runs) nor the project's month, so a standby's egress is this estimate,
// marked so. It is what a failover copies from the standby to the new GPU
// (through the store, or scn). Per 10⁹ bytes, as scn's traffic prices are.
const (
	egressPerGiB = 0.12
	egressPerGB  = egressPerGiB * 1e9 / (1 << 30)
	egressSource = "estimated: Google's Premium Tier internet egress to North America, $0.12/GiB (cloud.google.com/vpc/network-pricing, 2026-09-20)"
)

// e2Shapes are the billed vCPUs and memory (GB) of E2 machine types. The
// shared-core types burst to 2 vCPUs but are billed for a fraction of one.
var e2Shapes = map[string]struct{ vcpus, gb float64 }{
	"e2-micro":      {0.25, 1},
	"e2-small":      {0.5, 2},
	"e2-medium":     {1, 4},
	"e2-standard-2": {2, 8},
	"e2-standard-4": {4, 16},
	"e2-standard-8": {8, 32},
	"e2-highcpu-2":  {2, 2},
	"e2-highcpu-4":  {4, 4},
	"e2-highmem-2":  {2, 16},
}

// hourlyPrice estimates a machine type's price; ok is false for types
// outside the catalogue.
func hourlyPrice(machineType string, spot bool) (price float64, ok bool) {
	shape, ok := e2Shapes[machineType]
	if !ok {
		return 0, false
	}
	if spot {
		return shape.vcpus*e2VCPUSpot + shape.gb*e2GBSpot, true
	}
	return shape.vcpus*e2VCPUOnDemand + shape.gb*e2GBOnDemand, true
}

// Offers returns the one machine this provider rents: the configured machine
// type in the configured zone. Its GPU field names the machine type (there
// is no GPU). Compute Engine has no marketplace host score, so reliability
// is 1; Spot preemption is a separate risk the standby is built to survive.
// With a price limit, a machine type outside the price catalogue is left out:
// scn cannot show it fits.
func (p *Provider) Offers(ctx context.Context, q cloud.OfferQuery) ([]cloud.Offer, error) {
	p.loadPrices(ctx)
	pq := p.price(p.cfg.MachineType, !p.cfg.OnDemand)
	price, known := pq.perHour, pq.known
	offer := cloud.Offer{
		ID:           p.offerID(p.cfg.MachineType),
		Provider:     p.Name(),
		GPU:          p.cfg.MachineType,
		PricePerHour: price,
		PriceSource:  pq.source,
		Estimated:    pq.estimated,
		// What the VM sends to the internet is billed; what it receives
		// is not.
		SentPerGB:     egressPerGB,
		TrafficSource: egressSource,
		Reliability:   1,
		DiskGB:        float64(p.cfg.DiskGB),
		Location:      p.cfg.Zone,
	}
	gpu := strings.TrimSpace(q.GPU)
	switch {
	case gpu != "" && !strings.EqualFold(gpu, p.cfg.MachineType):
	case q.NumGPUs > 0:
	case q.MaxPrice > 0 && (!known || price > q.MaxPrice):
	case q.MinReliability > offer.Reliability:
	case q.MinDiskGB > offer.DiskGB:
	default:
		return []cloud.Offer{offer}, nil
	}
	return nil, nil
}

// offerID names the offer of a machine type in this provider's zone.
func (p *Provider) offerID(machine string) string { return "gcp:" + p.cfg.Zone + ":" + machine }

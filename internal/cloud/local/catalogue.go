package local

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
)

// catalogue is what the local target "rents": prices in the range VAST.ai
// and Compute Engine asked for these machines (2026), fixed so that a drill
// reports the same simulated cost every time.
var catalogue = []cloud.Offer{
	{ID: "loc-4090-a", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.312, Reliability: 0.981, DiskGB: 120, Location: "Poland, PL"},
	{ID: "loc-4090-b", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.348, Reliability: 0.995, DiskGB: 200, Location: "US-TX"},
	{ID: "loc-4090-c", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.395, Reliability: 0.998, DiskGB: 500, Location: "Sweden, SE"},
	{ID: "loc-4090-d", GPU: "RTX_4090", NumGPUs: 1, PricePerHour: 0.447, Reliability: 0.999, DiskGB: 1000, Location: "US-CA"},
	{ID: "loc-4090x2", GPU: "RTX_4090", NumGPUs: 2, PricePerHour: 0.702, Reliability: 0.993, DiskGB: 500, Location: "Germany, DE"},
	{ID: "loc-3090-a", GPU: "RTX_3090", NumGPUs: 1, PricePerHour: 0.168, Reliability: 0.972, DiskGB: 100, Location: "Vietnam, VN"},
	{ID: "loc-3090-b", GPU: "RTX_3090", NumGPUs: 1, PricePerHour: 0.205, Reliability: 0.991, DiskGB: 250, Location: "Canada, CA"},
	{ID: "loc-3090-c", GPU: "RTX_3090", NumGPUs: 1, PricePerHour: 0.239, Reliability: 0.997, DiskGB: 400, Location: "US-NY"},
	{ID: "loc-a6000-a", GPU: "RTX_A6000", NumGPUs: 1, PricePerHour: 0.452, Reliability: 0.988, DiskGB: 200, Location: "US-OR"},
	{ID: "loc-a6000-b", GPU: "RTX_A6000", NumGPUs: 1, PricePerHour: 0.517, Reliability: 0.996, DiskGB: 500, Location: "Norway, NO"},
	{ID: "loc-a6000-c", GPU: "RTX_A6000", NumGPUs: 1, PricePerHour: 0.583, Reliability: 0.999, DiskGB: 800, Location: "Netherlands, NL"},
	{ID: "loc-l40s-a", GPU: "L40S", NumGPUs: 1, PricePerHour: 0.792, Reliability: 0.993, DiskGB: 300, Location: "US-VA"},
	{ID: "loc-l40s-b", GPU: "L40S", NumGPUs: 1, PricePerHour: 0.861, Reliability: 0.998, DiskGB: 600, Location: "France, FR"},
	{ID: "loc-a100-a", GPU: "A100", NumGPUs: 1, PricePerHour: 1.054, Reliability: 0.990, DiskGB: 500, Location: "US-UT"},
	{ID: "loc-a100-b", GPU: "A100", NumGPUs: 1, PricePerHour: 1.146, Reliability: 0.997, DiskGB: 1000, Location: "Finland, FI"},
	{ID: "loc-h100-a", GPU: "H100", NumGPUs: 1, PricePerHour: 2.134, Reliability: 0.994, DiskGB: 800, Location: "US-TX"},
	{ID: "loc-h100-b", GPU: "H100", NumGPUs: 1, PricePerHour: 2.287, Reliability: 0.999, DiskGB: 2000, Location: "Iceland, IS"},
	{ID: "loc-e2-medium", GPU: "e2-medium", NumGPUs: 0, PricePerHour: 0.034, Reliability: 0.999, DiskGB: 20, Location: "us-central1-a"},
}

// gpuModels is how the driver names each catalogue GPU and the memory it
// reports (nvidia-smi's name and memory.total, MiB, on such machines), for
// the sandbox's nvidia-smi.
var gpuModels = map[string]struct {
	name      string
	memoryMiB int
}{
	"RTX_4090":  {"NVIDIA GeForce RTX 4090", 24564},
	"RTX_3090":  {"NVIDIA GeForce RTX 3090", 24576},
	"RTX_A6000": {"NVIDIA RTX A6000", 49140},
	"L40S":      {"NVIDIA L40S", 46068},
	"A100":      {"NVIDIA A100-SXM4-80GB", 81920},
	"H100":      {"NVIDIA H100 80GB HBM3", 81559},
}

// driverVersion is the NVIDIA driver the sandboxes' GPUs report.
const driverVersion = "550.54.15"

// gpuOf is what a sandbox rented from offer reports through nvidia-smi;
// nil for a machine without GPUs.
func gpuOf(offer cloud.Offer) *sandbox.GPU {
	m, ok := gpuModels[offer.GPU]
	if !ok || offer.NumGPUs < 1 {
		return nil
	}
	return &sandbox.GPU{Name: m.name, Count: offer.NumGPUs, MemoryMiB: m.memoryMiB, Driver: driverVersion}
}

// offerByID finds a catalogue offer.
func offerByID(id string) (cloud.Offer, bool) {
	for _, o := range catalogue {
		if o.ID == id {
			o.Provider, o.Simulated = ProviderName, true
			return o, true
		}
	}
	return cloud.Offer{}, false
}

// normGPU makes "rtx 4090" and "RTX_4090" the same name.
func normGPU(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", "_"))
}

// Offers lists catalogue offers matching q, cheapest first unless q asks
// for the most reliable first; ties keep catalogue order.
func (p *Provider) Offers(_ context.Context, q cloud.OfferQuery) ([]cloud.Offer, error) {
	var out []cloud.Offer
	for _, o := range catalogue {
		switch {
		case q.GPU != "" && normGPU(q.GPU) != normGPU(o.GPU),
			q.NumGPUs > 0 && o.NumGPUs != q.NumGPUs,
			q.MaxPrice > 0 && o.PricePerHour > q.MaxPrice,
			o.Reliability < q.MinReliability,
			o.DiskGB < q.MinDiskGB:
			continue
		}
		o.Provider, o.Simulated = ProviderName, true
		out = append(out, o)
	}
	switch q.Order {
	case "", "price":
		sort.SliceStable(out, func(i, j int) bool { return out[i].PricePerHour < out[j].PricePerHour })
	case "reliability":
		sort.SliceStable(out, func(i, j int) bool { return out[i].Reliability > out[j].Reliability })
	default:
		return nil, fmt.Errorf("local offers: unknown order %q (price or reliability)", q.Order)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

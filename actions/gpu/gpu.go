// Package gpu holds gpu.offers — what the target's compute provider can
// rent now, filtered and ordered, for instance.create to take — and
// gpu.info — what GPUs a machine really has, as its NVIDIA driver says.
package gpu

import (
	"cmp"
	"context"
	"fmt"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/target"
)

// OffersParams are the parameters of gpu.offers.
type OffersParams struct {
	GPU            string  `json:"gpu" doc:"GPU model, e.g. RTX_4090 (underscores or spaces); empty = any"`
	NumGPUs        int     `json:"num_gpus" min:"0" default:"1" doc:"GPUs per machine; 0 = any"`
	MaxPrice       float64 `json:"max_price" min:"0" doc:"highest USD per hour; 0 = no limit"`
	MinReliability float64 `json:"min_reliability" min:"0" max:"1" doc:"lowest host reliability, 0..1"`
	MinDiskGB      float64 `json:"min_disk_gb" min:"0" doc:"least disk space, GB"`
	DiskGB         float64 `json:"disk_gb" min:"0" doc:"the disk the instance will rent, GB: priced into each offer (VAST allocated_storage), so price and max_price are what will be billed; give instance.create the same; provider default when 0"`
	Order          string  `json:"order" default:"price" enum:"price,reliability" doc:"cheapest first, or most reliable first"`
	Limit          int     `json:"limit" min:"1" default:"10" doc:"most offers returned"`
}

// OffersOutputs are the outputs of gpu.offers.
type OffersOutputs struct {
	Offers   []cloud.Offer `json:"offers" doc:"matching offers, best first"`
	Count    int           `json:"count" doc:"len(offers)"`
	Cheapest float64       `json:"cheapest" doc:"lowest price among the offers, USD/h (0 when none)"`
}

// Offers searches the target's compute provider.
var Offers = actions.Define(actions.Info{
	Name:    "gpu.offers",
	Summary: "search the GPU offers of the target (VAST.ai marketplace, local catalogue, ssh hosts)",
	Doc: "Prices are USD per hour, total (VAST `dph_total`: the machine and disk_gb of disk). On the local target they come from a built-in " +
		"catalogue and are marked simulated. Pass an offer to instance.create with `offer: ${{ steps.ID.offers[0] }}`.",
	Example: "- id: offer\n  action: gpu.offers\n  with: { gpu: RTX_4090, max_price: 0.6 }\n  expect: [ \"count > 0\" ]",
	Needs:   []string{target.NeedCompute},
}, func(ctx context.Context, env *actions.Env, p *OffersParams) (*OffersOutputs, error) {
	if env.Target == nil || env.Target.Compute == nil {
		return nil, fmt.Errorf("target has no compute provider")
	}
	offers, err := env.Target.Compute.Offers(ctx, p.Query())
	if err != nil {
		return nil, fmt.Errorf("searching offers on %s: %w", env.Target.Compute.Name(), err)
	}
	out := &OffersOutputs{Offers: offers, Count: len(offers)}
	if out.Offers == nil {
		out.Offers = []cloud.Offer{}
	}
	for i, o := range offers {
		if i == 0 || o.PricePerHour < out.Cheapest {
			out.Cheapest = o.PricePerHour
		}
	}
	env.Logf("%s for %s on %s", plural.Count(len(offers), "offer"), cmp.Or(p.GPU, "any GPU"), env.Target.Compute.Name())
	return out, nil
})

// The params say what the offers are (actions.OfferSource), so a step
// renting one of them can price itself.
var _ actions.OfferSource = (*OffersParams)(nil)

// Query turns the parameters into a provider query.
func (p *OffersParams) Query() cloud.OfferQuery {
	return cloud.OfferQuery{GPU: p.GPU, NumGPUs: p.NumGPUs, MaxPrice: p.MaxPrice, MinReliability: p.MinReliability,
		MinDiskGB: p.MinDiskGB, DiskGB: p.DiskGB, Order: p.Order, Limit: p.Limit}
}

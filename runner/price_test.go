package runner_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/actions/actiontest"
	"github.com/scnlabs/scn/actions/builtin"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// leaseParams are those of a paid action the runner has never heard of:
// it prices itself, and the plan needs nothing else.
type leaseParams struct {
	Size string  `json:"size" required:"true"`
	Cap  float64 `json:"cap"`
	From any     `json:"from"`
}

func (p *leaseParams) Price(ctx context.Context, pc actions.PriceContext) actions.Price {
	if p.Cap > 0 {
		return actions.Price{PerHour: p.Cap, Reason: "cap of a " + p.Size + " lease", Known: true}
	}
	if src, step := pc.Source("from"); src != nil {
		if offers, ok := src.(actions.OfferSource); ok {
			pr := actions.DearestOffer(ctx, pc.Compute, offers.Query(), 2)
			pr.Reason += " (offers of step " + step + ")"
			return pr
		}
	}
	return actions.Price{Reason: "no cap"}
}

type leaseOutputs struct {
	ID string `json:"id"`
}

var lease = actions.Define(actions.Info{Name: "lease.vm", Summary: "lease a machine", Creates: "vm", Paid: true},
	func(context.Context, *actions.Env, *leaseParams) (*leaseOutputs, error) { return &leaseOutputs{}, nil })

const leaseScenario = `
name: lease
vars: { size: big, cap: 0.9 }
timeout: 1h
steps:
  - id: offer
    action: gpu.offers
    with: { gpu: H100, max_price: 2.2 }
  - id: capped
    action: lease.vm
    with: { size: "${{ vars.size }}", cap: "${{ vars.cap }}" }
  - id: from_offer
    action: lease.vm
    with: { size: small, from: "${{ steps.offer.offers[0] }}" }
  - id: gpu
    action: instance.create
    with: { offer: "${{ steps.offer.offers[0] }}" }
  - id: blind
    action: lease.vm
    with: { size: "${{ steps.offer.offers[0].gpu }}" }
`

func TestStaticPricerAsksEachAction(t *testing.T) {
	specs := []*actions.Spec{lease}
	for _, n := range builtin.Registry().Names() {
		s, _ := builtin.Registry().Get(n)
		specs = append(specs, s)
	}
	sc, err := runner.Load("lease.yaml", []byte(leaseScenario))
	if err != nil {
		t.Fatal(err)
	}
	c, err := runner.Check(sc, actions.NewRegistry(specs...))
	if err != nil {
		t.Fatal(err)
	}
	p := actiontest.NewProvider(t, "vast", cloud.Offer{ID: "1", GPU: "H100", NumGPUs: 1, PricePerHour: 2.1},
		cloud.Offer{ID: "2", GPU: "H100", NumGPUs: 1, PricePerHour: 2.3}, cloud.Offer{ID: "3", GPU: "A100", NumGPUs: 1, PricePerHour: 1.2})
	tgt := &target.Target{Name: "vast", Compute: p, Paid: true}

	plan := runner.MakePlan(c, "vast", runner.StaticPricer(context.Background(), c, tgt, map[string]string{"cap": "0.5"}))
	var got []string
	for _, r := range plan.Creates {
		got = append(got, r.Step.ID+": "+r.PriceNote)
	}
	want := []string{
		"capped: cap of a big lease",                                   // vars, the one given on the command line first
		"from_offer: the one offer it may take (offers of step offer)", // the source step's query: H100 under $2.2
		"gpu: max_price of step offer",
		"blind: no cap", // a required parameter known only at run time: the rest is still read
	}
	if !slices.Equal(got, want) {
		t.Errorf("prices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if prices := []float64{plan.Creates[0].PricePerHour, plan.Creates[1].PricePerHour, plan.Creates[2].PricePerHour}; !slices.Equal(prices, []float64{0.5, 2.1, 2.2}) {
		t.Errorf("prices %v", prices)
	}
	if !plan.Unbounded || !strings.Contains(plan.CostNote, "cannot bound the price of steps blind") {
		t.Errorf("a step that cannot say must make the worst case unbounded: %v %q", plan.Unbounded, plan.CostNote)
	}

	// Without a target nothing that needs offers is known.
	plan = runner.MakePlan(c, "vast", runner.StaticPricer(context.Background(), c, nil, nil))
	if r := plan.Creates[1]; r.PricePerHour != 0 || r.PriceNote != "price unknown (offers of step offer)" {
		t.Errorf("without a target: %+v", r)
	}
	if r := plan.Creates[0]; r.PricePerHour != 0.9 {
		t.Errorf("the var's default: %+v", r)
	}
}

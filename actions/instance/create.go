package instance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/rent"
	"github.com/scnlabs/scn/internal/target"
)

// CreateParams are the parameters of instance.create.
type CreateParams struct {
	Offer        *cloud.Offer      `json:"offer" doc:"the offer to rent: ${{ steps.offer.offers[0] }}"`
	Offers       []cloud.Offer     `json:"offers" doc:"offers to try in order (fallback walks this list)"`
	GPU          string            `json:"gpu" doc:"search offers for this GPU model instead of giving one"`
	NumGPUs      int               `json:"num_gpus" min:"1" default:"1" doc:"with gpu: GPUs per machine"`
	MaxPrice     float64           `json:"max_price" min:"0" doc:"highest USD per hour accepted (also bounds scn plan's worst case)"`
	Image        string            `json:"image" doc:"container or VM image (provider default when empty)"`
	DiskGB       float64           `json:"disk_gb" min:"0" doc:"disk size, GB (provider default when 0)"`
	Env          map[string]string `json:"env" doc:"environment variables for the machine"`
	OnStart      string            `json:"onstart" doc:"shell run at boot (VAST onstart)"`
	ReadyTimeout actions.Duration  `json:"ready_timeout" min:">0" default:"10m" doc:"how long one instance may take to answer SSH before the next offer is tried"`
	Fallback     int               `json:"fallback" min:"0" default:"2" doc:"more offers to try when one fails (gone, exited, SSH never answers); 0 = none"`
	Race         int               `json:"race" min:"1" default:"1" doc:"create this many at once, keep the first ready, destroy the rest"`
	Label        string            `json:"label" doc:"label to give it (must start with scn-); default scn-<run-id>-<step-id>"`
}

// Validate implements actions.Validator.
func (p *CreateParams) Validate() error {
	if p.Label != "" && !strings.HasPrefix(p.Label, "scn-") {
		return fmt.Errorf("label %q must start with scn- so that scn cleanup can find it", p.Label)
	}
	return nil // race and fallback: their range tags
}

// ParamGroups implements actions.Grouper.
func (p *CreateParams) ParamGroups() []actions.Group {
	return []actions.Group{{Rule: actions.ExactlyOne, Params: []string{"offer", "offers", "gpu"}}}
}

// Price implements actions.Pricer: max_price, else the max_price of the
// gpu.offers step the offer comes from, else the dearest of the offers it
// may try (race + fallback of them), asked from the target.
func (p *CreateParams) Price(ctx context.Context, pc actions.PriceContext) actions.Price {
	if p.MaxPrice > 0 {
		return actions.Price{PerHour: p.MaxPrice, Reason: "max_price", Known: true}
	}
	q := cloud.OfferQuery{GPU: p.GPU, NumGPUs: p.NumGPUs, DiskGB: p.DiskGB}
	if src, step := pc.Source("offer"); src != nil {
		if offers, ok := src.(actions.OfferSource); ok {
			if q = offers.Query(); q.MaxPrice > 0 {
				return actions.Price{PerHour: q.MaxPrice, Reason: "max_price of step " + step, Known: true}
			}
		}
	}
	return actions.DearestOffer(ctx, pc.Compute, q, p.Race+p.Fallback)
}

// Create rents an instance and waits until it answers SSH.
var Create = actions.Define(actions.Info{
	Name:    "instance.create",
	Summary: "rent or start an instance from an offer and wait until SSH answers (fallback to the next offers)",
	Doc: "Readiness is the provider saying running AND two SSH probes in a row answering; probes run every second between the provider's status polls from the first read that gives an address (VAST's status lags the machine, so SSH may answer while it still says loading), and ready_seconds ends at the first of them, not at the read that said running. An instance that exits, goes " +
		"offline, reports an error or does not answer within ready_timeout is destroyed and the next offer is " +
		"tried (fallback). The instance is destroyed at the end of the run unless the step says keep: true; " +
		"on a prepaid provider (VAST) the balance is checked before renting.",
	Example: "- id: gpu\n  action: instance.create\n  with: { offer: \"${{ steps.offer.offers[0] }}\", ready_timeout: 10m }",
	Creates: "instance",
	Paid:    true,
	Needs:   []string{target.NeedCompute},
}, func(ctx context.Context, env *actions.Env, p *CreateParams) (*CreateOutputs, error) {
	if env.Target == nil || env.Target.Compute == nil {
		return nil, errors.New("target has no compute provider")
	}
	prov := env.Target.Compute
	offers, err := p.offers(ctx, prov)
	if err != nil {
		return nil, err
	}
	req := cloud.CreateRequest{Label: p.Label, Image: p.Image, DiskGB: p.DiskGB, Env: p.Env, OnStart: p.OnStart}
	fallback := p.Fallback
	if fallback == 0 {
		fallback = -1 // cloud.Provision reads 0 as its default
	}
	inst, attempts, err := env.Rent(ctx, prov, offers, rent.Options{Kind: "instance", Request: req,
		Fallback: fallback, Race: p.Race, ReadyTimeout: p.ReadyTimeout.Duration})
	if err != nil {
		return nil, err
	}
	out := outputsOf(inst)
	readyAt := inst.ReadyAt // the probe that began the successful readiness check
	if readyAt.IsZero() {
		readyAt = time.Now()
	}
	return &CreateOutputs{Outputs: *out, ReadySeconds: readyAt.Sub(inst.CreatedAt).Seconds(), Attempts: attempts}, nil
})

// offers lists what to try, best first.
func (p *CreateParams) offers(ctx context.Context, prov cloud.Provider) ([]cloud.Offer, error) {
	switch {
	case len(p.Offers) > 0:
		return p.Offers, nil
	case p.GPU != "":
		return search(ctx, prov, cloud.OfferQuery{GPU: p.GPU, NumGPUs: p.NumGPUs, MaxPrice: p.MaxPrice, DiskGB: p.DiskGB, Limit: 1 + p.Race + p.Fallback})
	}
	if p.MaxPrice > 0 && p.Offer.PricePerHour > p.MaxPrice {
		return nil, fmt.Errorf("offer %s costs $%.3f/h, more than max_price $%.3f/h", p.Offer.ID, p.Offer.PricePerHour, p.MaxPrice)
	}
	out := []cloud.Offer{*p.Offer}
	if p.Fallback+p.Race > 1 {
		// Fallback needs more offers than the one given: the next best of
		// the same kind, at most as expensive as max_price (if set).
		more, err := prov.Offers(ctx, cloud.OfferQuery{GPU: p.Offer.GPU, NumGPUs: p.Offer.NumGPUs, MaxPrice: p.MaxPrice, DiskGB: p.DiskGB, Limit: 2 + p.Race + p.Fallback})
		if err == nil {
			for _, o := range more {
				if o.ID != p.Offer.ID {
					out = append(out, o)
				}
			}
		}
	}
	return out, nil
}

func search(ctx context.Context, prov cloud.Provider, q cloud.OfferQuery) ([]cloud.Offer, error) {
	offers, err := prov.Offers(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("searching offers on %s: %w", prov.Name(), err)
	}
	if len(offers) == 0 {
		limits := fmt.Sprintf("num_gpus %d", q.NumGPUs)
		if q.MaxPrice > 0 {
			limits += fmt.Sprintf(", max_price $%.3f/h", q.MaxPrice)
		}
		return nil, fmt.Errorf("no %s offer on %s matches (%s)", cmp.Or(q.GPU, "any"), prov.Name(), limits)
	}
	return offers, nil
}

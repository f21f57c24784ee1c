package actions

import (
	"context"
	"fmt"

	"github.com/scnlabs/scn/internal/cloud"
)

// Pricer is implemented by the params of an action that rents something
// paid (Info.Paid) to bound, before anything runs, the hourly price of
// what its step may rent: `scn plan` and the question before a paid run
// show it, times the scenario's timeout. The params hold what is known
// before the run (DecodeKnown): literal values and vars, defaults for the
// rest; values computed from other steps stay at their zero value, and pc
// says what can be known of them. A paid action without a Pricer is
// priced "unknown", which makes the plan's worst case unbounded.
type Pricer interface {
	Price(ctx context.Context, pc PriceContext) Price
}

// Price bounds the hourly price of what a step may rent.
type Price struct {
	PerHour float64 // USD per hour, when Known
	Reason  string  // one line: how it was bounded ("max_price"), or why it could not be
	Known   bool
}

// PriceContext is what the plan knows around a step.
type PriceContext struct {
	// Compute and Standby are the target's providers, to ask for offers
	// (free); nil when the target could not be opened.
	Compute, Standby cloud.Provider
	// Source returns the params (known values only, as the step's own) of
	// the step that parameter name of this step reads from in a single
	// expression — offer: ${{ steps.offer.offers[0] }} — and that step's
	// id; nil when name is not such a reference.
	Source func(name string) (params any, step string)
}

// OfferSource is implemented by the params of an action whose outputs are
// offers (gpu.offers): the query they answer, so that a step renting one
// of them can price itself.
type OfferSource interface {
	Query() cloud.OfferQuery
}

// DearestOffer bounds a step that may try up to n offers q finds on prov,
// best first: the dearest of them. Asking a provider for offers is free.
func DearestOffer(ctx context.Context, prov cloud.Provider, q cloud.OfferQuery, n int) Price {
	if prov == nil {
		return Price{Reason: "price unknown"}
	}
	q.Limit = n
	offers, err := prov.Offers(ctx, q)
	if err != nil {
		return Price{Reason: "price unknown (no offers to look at)"}
	}
	return Dearest(offers)
}

// Dearest bounds a step that may rent any of offers: the dearest of them.
func Dearest(offers []cloud.Offer) Price {
	if len(offers) == 0 {
		return Price{Reason: "price unknown (no offers to look at)"}
	}
	most := 0.0
	for _, o := range offers {
		most = max(most, o.PricePerHour)
	}
	why := fmt.Sprintf("dearest of the %d offers it may take", len(offers))
	if len(offers) == 1 {
		why = "the one offer it may take"
	}
	return Price{PerHour: most, Reason: why, Known: true}
}

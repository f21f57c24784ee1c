package main

import (
	"context"
	"fmt"
	"reflect"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// planPricer bounds the hourly price of each paid step for `scn plan` and
// the confirmation before a paid run: the step's literal max_price, else
// the max_price of the gpu.offers step its offer comes from, else the
// dearest of the offers the step could end up renting (asked from the
// target: a free API call), else unknown.
func planPricer(ctx context.Context, g *globals, tgt *target.Target, sc *runner.Scenario, vars map[string]string) runner.Pricer {
	return func(s *runner.Step) (float64, string, bool) {
		if p, ok := number(sc.Literal(s, "max_price", vars)); ok && p > 0 {
			return p, "max_price", true
		}
		gpu, _ := sc.Literal(s, "gpu", vars)
		if src := sc.Referenced(s, "offer"); src != nil && src.Action == "gpu.offers" {
			if p, ok := number(sc.Literal(src, "max_price", vars)); ok && p > 0 {
				return p, "max_price of step " + src.ID, true
			}
			gpu, _ = sc.Literal(src, "gpu", vars)
		}
		prov := (cloud.Provider)(nil)
		if tgt != nil {
			prov = tgt.Compute
			if s.Spec != nil && s.Spec.Creates == "standby" {
				prov = tgt.Standby
			}
		}
		if prov == nil {
			return 0, "price unknown", false
		}
		name, _ := gpu.(string)
		fallback, _ := number(sc.Literal(s, "fallback", vars))
		offers, err := prov.Offers(ctx, cloud.OfferQuery{GPU: name, Limit: 3 + int(fallback)})
		if err != nil || len(offers) == 0 {
			return 0, "price unknown (no offers to look at)", false
		}
		most := 0.0
		for _, o := range offers {
			most = max(most, o.PricePerHour)
		}
		return most, fmt.Sprintf("dearest of the %d offers it may take", len(offers)), true
	}
}

func number(v any, ok bool) (float64, bool) {
	if !ok {
		return 0, false
	}
	var f float64
	err := actions.Coerce(v, reflect.ValueOf(&f).Elem(), "", false)
	return f, err == nil
}

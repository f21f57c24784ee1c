package runner

import (
	"context"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/target"
)

// StaticPricer prices the paid steps of sc for MakePlan before anything
// runs: each step's action prices itself (actions.Pricer) from what is
// known now — its literal parameters and the vars (given on the command
// line or with a literal default), the known parameters of the step a
// parameter reads from, and the offers of tgt's providers (free to ask).
// tgt may be nil: offers are then unknown.
func StaticPricer(ctx context.Context, c *Checked, tgt *target.Target, vars map[string]string) Pricer {
	sc := c.Scenario()
	var pc actions.PriceContext
	if tgt != nil {
		pc.Compute, pc.Standby = tgt.Compute, tgt.Standby
	}
	return func(s *Step) (float64, string, bool) {
		pr, ok := sc.knownParams(s, vars).(actions.Pricer)
		if !ok {
			return 0, "price unknown", false
		}
		c := pc
		c.Source = func(name string) (any, string) {
			src := sc.Referenced(s, name)
			if src == nil {
				return nil, ""
			}
			return sc.knownParams(src, vars), src.ID
		}
		p := pr.Price(ctx, c)
		return p.PerHour, p.Reason, p.Known
	}
}

// knownParams decodes what is known of step s's parameters before it runs
// (Literal; defaults for the rest, see actions.DecodeKnown); nil when s
// runs no action or its known values do not decode.
func (sc *Scenario) knownParams(s *Step, vars map[string]string) any {
	if s.Spec == nil {
		return nil
	}
	with := map[string]any{}
	if s.With != nil {
		for name := range s.With.Map {
			if v, ok := sc.Literal(s, name, vars); ok {
				with[name] = v
			}
		}
	}
	p := s.Spec.NewParams()
	if err := actions.DecodeKnown(p, with); err != nil {
		return nil
	}
	return p
}

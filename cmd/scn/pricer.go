package main

import (
	"context"

	"github.com/scnlabs/scn/runner"
)

// planPricer bounds paid steps' prices (filled in with the instance actions).
func planPricer(ctx context.Context, g *globals) runner.Pricer { return nil }

package main

import (
	"context"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/assembly"
	"github.com/scnlabs/scn/internal/target"
)

func openTarget(ctx context.Context, g *globals) (*target.Target, error) {
	agents := agentctl.BesideExecutable() // scn-agent-<os>-<arch> from make build, or scn itself
	return assembly.Open(ctx, assembly.OpenOptions{Name: g.target, StateDir: g.absState(), ConfigFile: g.config, Agents: &agents})
}

package standby

import (
	"context"
	"errors"
	"fmt"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	snap "github.com/scnlabs/scn/internal/snapshot"
)

// How a cycle's bytes went (Cycle.Via): straight GPU → store → standby by
// the machines' agents, or through scn's process over SSH.
const (
	ViaAgent = snap.ViaAgent
	ViaSCN   = snap.ViaSCN
)

// relayKey is the store object that carries a standby's increments.
func relayKey(standbyID string) string { return snap.RelayKey(standbyID) }

// copyPaths sends the listed entries from the GPU to the standby: through
// the store by the machines' agents when the association has an agent and
// a store (Options.Agent, Options.Store), otherwise — or when an agent
// cannot run on either machine or reach the store, which is found out
// before a byte moves — streamed through scn over SSH, saying why once.
// It fills the cycle's Bytes, Via and SCNBytes.
func (a *Association) copyPaths(ctx context.Context, gpu Machine, gx, sx remote.Execer, paths []string, c *Cycle, progress func(int64)) error {
	if a.opts.Agent != nil && a.opts.Store != nil {
		rel := make([]string, len(paths))
		for i, p := range paths {
			rel[i] = "./" + p
		}
		res, err := snap.Relay(ctx, snap.RelayOptions{Agent: a.opts.Agent, Store: a.opts.Store, Key: relayKey(a.sb.Instance.ID),
			From: snap.RelayEnd{Exec: gx, ID: gpu.Instance.ID, Dir: gpu.Dir}, To: snap.RelayEnd{Exec: sx, ID: a.sb.Instance.ID, Dir: a.sb.Dir},
			Paths: rel, Progress: progress})
		switch {
		case err == nil:
			c.Bytes, c.Via, c.SCNBytes = res.Bytes, ViaAgent, 0
			a.fallbackSaid = ""
			return nil
		case !errors.Is(err, agentctl.ErrUnavailable):
			return err
		}
		if why := err.Error(); why != a.fallbackSaid {
			a.fallbackSaid = why
			a.logf("syncing through scn over SSH: the agents cannot relay through the store (%s)", why)
		}
	}
	n, err := stream(ctx,
		endpoint{side: GPU, id: gpu.Instance.ID, x: gx, cmd: sendCommand(gpu.Dir), ok: tarOK},
		endpoint{side: Standby, id: a.sb.Instance.ID, x: sx, cmd: receiveCommand(a.sb.Dir)},
		nulList(paths), progress)
	c.Bytes, c.Via, c.SCNBytes = n, ViaSCN, n
	if err != nil {
		return fmt.Errorf("copying %d paths: %w", len(paths), err)
	}
	return nil
}

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

// copyPaths sends the listed entries from the GPU to the standby (see
// relayOrStream) and fills the cycle's Bytes, Via and SCNBytes.
func (a *Association) copyPaths(ctx context.Context, gpu Machine, gx, sx remote.Execer, paths []string, c *Cycle, progress func(int64)) error {
	n, via, err := a.relayOrStream(ctx, end{GPU, gpu, gx}, end{Standby, a.sb, sx}, paths, progress)
	c.Bytes, c.Via = n, via
	if via == ViaSCN {
		c.SCNBytes = n
	}
	if err != nil && via == ViaSCN {
		return fmt.Errorf("copying %d paths: %w", len(paths), err)
	}
	return err
}

// end is one side of a copy.
type end struct {
	side Side
	m    Machine
	x    remote.Execer
}

// relayOrStream copies the listed entries (relative to the machines'
// Dirs) from one machine to the other: through the store by the machines'
// agents when the association has an agent and a store (Options.Agent,
// Options.Store), otherwise — or when an agent cannot run on either
// machine or reach the store, which is found out before a byte moves —
// streamed through scn over SSH, saying why once. It returns the bytes of
// the tar stream and how they went.
func (a *Association) relayOrStream(ctx context.Context, from, to end, paths []string, progress func(int64)) (int64, string, error) {
	if a.opts.Agent != nil && a.opts.Store != nil {
		rel := make([]string, len(paths))
		for i, p := range paths {
			rel[i] = "./" + p
		}
		res, err := snap.Relay(ctx, snap.RelayOptions{Agent: a.opts.Agent, Store: a.opts.Store, Key: relayKey(a.sb.Instance.ID),
			From:  snap.RelayEnd{Exec: from.x, ID: from.m.Instance.ID, Dir: from.m.Dir, Moved: a.moved(from.m)},
			To:    snap.RelayEnd{Exec: to.x, ID: to.m.Instance.ID, Dir: to.m.Dir, Moved: a.moved(to.m)},
			Paths: rel, Progress: progress})
		switch {
		case err == nil:
			a.fallbackSaid = ""
			return res.Bytes, ViaAgent, nil
		case !errors.Is(err, agentctl.ErrUnavailable):
			return 0, ViaAgent, err
		}
		if why := err.Error(); why != a.fallbackSaid {
			a.fallbackSaid = why
			a.logf("copying through scn over SSH: the agents cannot relay through the store (%s)", why)
		}
	}
	n, err := stream(ctx,
		endpoint{side: from.side, id: from.m.Instance.ID, x: from.x, cmd: sendCommand(from.m.Dir), ok: tarOK},
		endpoint{side: to.side, id: to.m.Instance.ID, x: to.x, cmd: receiveCommand(to.m.Dir)},
		nulList(paths), a.streamed(from, to, progress))
	return n, ViaSCN, err
}

// moved is what hears the bytes crossing m's link (Options.Moved), nil
// when nothing listens.
func (a *Association) moved(m Machine) func(sent, received int64) {
	if a.opts.Moved == nil {
		return nil
	}
	return a.opts.Moved(m.Instance.ID)
}

// streamed wraps a stream's progress (running totals) so that each
// growth is heard as sent by from and received by to as it happens.
func (a *Association) streamed(from, to end, progress func(int64)) func(int64) {
	sent, received := a.moved(from.m), a.moved(to.m)
	var seen int64
	return func(n int64) {
		if d := n - seen; d > 0 {
			seen = n
			if sent != nil {
				sent(d, 0)
			}
			if received != nil {
				received(0, d)
			}
		}
		if progress != nil {
			progress(n)
		}
	}
}

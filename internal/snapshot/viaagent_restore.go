package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/scnlabs/scn/internal/agent/wire"
	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/store"
)

// restoreViaAgent runs Unpack on the machine, reading the data object
// straight from the store (a presigned GET for all ranges, or the store's
// own file), and returns what it restored. m was read and checked by scn;
// the agent checks it again before a byte moves.
func restoreViaAgent(ctx context.Context, opts RestoreOptions, m *Manifest, size int64) (*RestoreResult, error) {
	if err := opts.Agent.Refused(opts.Instance, opts.Store.String()); err != nil {
		return nil, err
	}
	key := dataKey(opts.Name)
	acc, err := accessFor(ctx, opts.Store, key)
	if err != nil {
		return nil, err
	}
	defer acc.cleanup()
	if acc.shared != nil {
		// The object's own file. Asked for before the agent starts, as a
		// Get would be: the store's request count stays that of a restore
		// through scn.
		if acc.wire.File, err = acc.shared.GetFile(ctx, key); err != nil {
			return nil, err
		}
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	job := wire.Msg{Type: wire.Restore, RestoreJob: &wire.RestoreJob{Path: opts.Path, Manifest: manifest, Size: size,
		Verify: opts.Verify, Store: acc.wire}}
	s, err := begin(ctx, opts.Agent, opts.Exec, opts.Instance, opts.Store, job)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Send(wire.Msg{Type: wire.Start}); err != nil {
		return nil, err
	}
	msg, err := serveDownload(ctx, s, acc, key, opts.Progress, opts.Moved)
	if err != nil && msg.Type != wire.Failed {
		return nil, err
	}
	if msg.Type != wire.Restored && msg.Type != wire.Failed {
		return nil, fmt.Errorf("the agent sent %q during a restore", msg.Type)
	}
	var res *RestoreResult
	if len(msg.Result) > 0 {
		res = &RestoreResult{}
		if err := json.Unmarshal(msg.Result, res); err != nil {
			return nil, fmt.Errorf("the agent's result is not JSON: %w", err)
		}
	}
	if msg.Type == wire.Failed {
		return res, err
	}
	if res == nil {
		return nil, errors.New("the agent restored without a result")
	}
	res.Transport.AgentRSS = msg.PeakRSS
	return res, nil
}

// serveDownload answers an agent reading key: presigns the GET it needs
// (one URL serves every range) and passes its progress and its network
// bytes on, until its final message, which it returns (a failure also as
// an error).
func serveDownload(ctx context.Context, s *agentctl.Session, acc *access, key string, progress func(int64), moved func(sent, received int64)) (wire.Msg, error) {
	get := func(ctx context.Context, n int) (store.Request, error) {
		if n != 0 || acc.presigner == nil {
			return store.Request{}, fmt.Errorf("one object is read: there is no URL %d", n)
		}
		return acc.presigner.PresignGet(ctx, key, urlTTL)
	}
	return serve(ctx, s, handlers{mint: get, progress: progress, moved: moved})
}

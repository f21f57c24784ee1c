package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
)

// RelayKey is the object that carries a standby's increments: one per
// standby, replaced each cycle and deleted after it, outside snapshots/ so
// no listing takes it for a snapshot.
func RelayKey(standbyID string) string { return RelayPrefix(standbyID) + "increment.tar" }

// RelayPrefix is the folder of standbyID's relay: all a relay ever writes
// is under it, and DeleteRelay removes all of it.
func RelayPrefix(standbyID string) string { return "standby-sync/" + standbyID + "/" }

// DeleteRelay removes what a relay to standbyID left in st: the object
// with every version of it, an upload cut short (S3, B2), and in a
// directory store a file still being written. gone is true when nothing
// was there, which is no error. The id comes from the ledger when `scn
// cleanup` calls it, so one that would widen the folder ("", "..", a
// slash) is refused.
func DeleteRelay(ctx context.Context, st store.Store, standbyID string) (gone bool, err error) {
	if standbyID == "" || standbyID == "." || standbyID == ".." || strings.ContainsAny(standbyID, "/\\") {
		return false, fmt.Errorf("deleting the relay of standby %q: not an instance id", standbyID)
	}
	prefix := RelayPrefix(standbyID)
	// The whole folder: an upload cut short there (S3 and B2 keep and
	// bill its parts until it is aborted) and every version of the key.
	if p, ok := store.PurgerOf(st); ok {
		n, err := p.Purge(ctx, prefix)
		return n == 0 && err == nil, err
	}
	if sh, ok := store.SharedOf(st); ok {
		if err := sh.DiscardPartial(ctx, prefix); err != nil {
			return false, err
		}
	}
	err = st.Delete(ctx, RelayKey(standbyID))
	if errors.Is(err, store.ErrNotExist) {
		return true, nil
	}
	return false, err
}

// RelayEnd is one machine of a relay: how to reach it, its id (for
// messages), the directory the entries are read from or written to, and
// what hears the bytes its link carries (Moved, optional: as in
// CreateOptions).
type RelayEnd struct {
	Exec  remote.Execer
	ID    string
	Dir   string
	Moved func(sent, received int64)
}

// RelayOptions say what a relay moves.
type RelayOptions struct {
	Agent    *agentctl.Launcher
	Store    store.Store
	Key      string   // the object that carries the stream; replaced, and deleted at the end
	From, To RelayEnd // the GPU and its standby
	Paths    []string // entries of From.Dir to send ("./a/b"), each named
	Progress func(done int64)
}

// RelayResult is what a relay moved and how long each half took.
type RelayResult struct {
	Bytes                   int64 // of the tar stream
	SendSeconds, GetSeconds float64
	Transport               Transport
}

// Relay copies the listed entries of From.Dir into To.Dir without scn in
// the path: From's agent tars them into one object of the store (the
// upload scn starts, presigns and completes, as for a snapshot), then To's
// agent reads it back and extracts it. scn's process carries only the
// control messages. Both agents must show they reach the store before a
// byte moves; when either cannot run or cannot reach it the error wraps
// agentctl.ErrUnavailable and nothing was sent, so the caller can stream
// through scn instead. The object is deleted at the end, whatever
// happened; one left by a killed scn is replaced by the next relay with
// the same Key.
func Relay(ctx context.Context, o RelayOptions) (*RelayResult, error) {
	if o.Agent == nil || o.Store == nil {
		return nil, fmt.Errorf("%w: no agent or no store to relay through", agentctl.ErrUnavailable)
	}
	for _, end := range []RelayEnd{o.To, o.From} { // the order of the errors below
		if err := o.Agent.Refused(end.ID, o.Store.String()); err != nil {
			return nil, fmt.Errorf("on instance %s: %w", end.ID, err) // neither agent is started for nothing
		}
	}
	acc, err := accessFor(ctx, o.Store, o.Key)
	if err != nil {
		return nil, err
	}
	defer acc.cleanup()
	send, recv, up, err := relayStart(ctx, o, acc)
	if err != nil {
		return nil, err
	}
	sent := false
	defer func() {
		// In this order: no part lands after the abort, and the abort is
		// not held up behind the delete, which may fail (the caller
		// purges the folder once syncing stops: DeleteRelay).
		send.Close()
		recv.Close()
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		if !sent {
			up.abort(cctx)
		}
		o.Store.Delete(cctx, o.Key) // gone or never written: nothing to say
	}()

	res := &RelayResult{Transport: Transport{Via: ViaAgent}}
	start := time.Now()
	size, rss, err := relaySend(ctx, o, up, send)
	sent = err == nil
	if err != nil {
		recv.Send(wire.Msg{Type: wire.Stop})
		return nil, fmt.Errorf("sending from instance %s: %w", o.From.ID, err)
	}
	res.Bytes, res.SendSeconds, res.Transport.AgentRSS = size, time.Since(start).Seconds(), rss
	start = time.Now()
	if err := relayReceive(ctx, o, acc, recv, size); err != nil {
		return nil, fmt.Errorf("receiving on instance %s: %w", o.To.ID, err)
	}
	res.GetSeconds = time.Since(start).Seconds()
	return res, nil
}

// relayStart starts both agents at once (each is checked, started and
// probes the store) and, with them, the upload the GPU's agent fills, as
// Create does; the standby's agent then waits, ready, while the GPU sends.
// When any of the three fails, what did start is stopped and aborted.
func relayStart(ctx context.Context, o RelayOptions, acc *access) (send, recv *agentctl.Session, up upload, err error) {
	reserved := make(chan reservation, 1)
	go func() {
		up, err := acc.reserve(ctx, o.Key)
		reserved <- reservation{up, err}
	}()
	type started struct {
		s   *agentctl.Session
		err error
	}
	recvCh := make(chan started, 1)
	go func() {
		s, err := begin(ctx, o.Agent, o.To.Exec, o.To.ID, o.Store, wire.Msg{Type: wire.Receive, ReceiveJob: &wire.ReceiveJob{Path: o.To.Dir, Store: acc.wire}})
		recvCh <- started{s, err}
	}()
	send, sendErr := begin(ctx, o.Agent, o.From.Exec, o.From.ID, o.Store, wire.Msg{Type: wire.Send, SendJob: &wire.SendJob{Path: o.From.Dir, Paths: o.Paths, Store: acc.wire}})
	r, rsv := <-recvCh, <-reserved
	if sendErr == nil && r.err == nil && rsv.err == nil {
		return send, r.s, rsv.up, nil
	}
	for _, s := range []*agentctl.Session{send, r.s} {
		if s != nil {
			s.Send(wire.Msg{Type: wire.Stop})
			s.Close()
		}
	}
	if rsv.err == nil {
		cctx, cancel := cleanupCtx(ctx)
		rsv.up.abort(cctx)
		cancel()
	}
	// A hard failure fails the cycle; only when the agents are merely
	// unable does the caller fall back (and then the store is not needed).
	switch {
	case sendErr != nil && (!errors.Is(sendErr, agentctl.ErrUnavailable) || r.err == nil):
		return nil, nil, nil, fmt.Errorf("on instance %s: %w", o.From.ID, sendErr)
	case r.err != nil:
		return nil, nil, nil, fmt.Errorf("on instance %s: %w", o.To.ID, r.err)
	}
	return nil, nil, nil, fmt.Errorf("sending from instance %s: %w", o.From.ID, rsv.err)
}

// relaySend has From's agent fill up and completes the object; it returns
// the object's size and the agent's peak RSS. The caller aborts up when it
// fails.
func relaySend(ctx context.Context, o RelayOptions, up upload, s *agentctl.Session) (int64, int64, error) {
	if err := s.Send(wire.Msg{Type: wire.Start, File: up.file()}); err != nil {
		return 0, 0, err
	}
	msg, err := serveUpload(ctx, s, up, o.Progress, o.From.Moved)
	switch {
	case err != nil:
		return 0, 0, err
	case msg.Type != wire.Sent:
		return 0, 0, fmt.Errorf("the agent sent %q while sending", msg.Type)
	}
	if err := up.complete(ctx, msg.Size); err != nil {
		return 0, 0, err
	}
	return msg.Size, msg.PeakRSS, nil
}

// relayReceive starts To's agent on the stored object.
func relayReceive(ctx context.Context, o RelayOptions, acc *access, s *agentctl.Session, size int64) error {
	start := wire.Msg{Type: wire.Start, Size: size}
	if acc.shared != nil {
		file, err := acc.shared.GetFile(ctx, o.Key)
		if err != nil {
			s.Send(wire.Msg{Type: wire.Stop})
			return err
		}
		start.File = file
	}
	if err := s.Send(start); err != nil {
		return err
	}
	msg, err := serveDownload(ctx, s, acc, o.Key, nil, o.To.Moved)
	switch {
	case err != nil:
		return err
	case msg.Type != wire.Received:
		return fmt.Errorf("the agent sent %q while receiving", msg.Type)
	case msg.Size != size:
		return fmt.Errorf("the agent extracted %d bytes of the %d stored", msg.Size, size)
	}
	return nil
}

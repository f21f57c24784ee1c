package snapshot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
)

// With an agent (CreateOptions.Agent, RestoreOptions.Agent), scn is only the
// control plane: the machine runs Archive or Unpack itself and moves the
// bytes straight to or from the store, with URLs scn presigns one at a time
// (store.Presigner) or, on a machine sharing scn's filesystem, the store's
// own files (store.Shared). scn starts and completes the upload, writes the
// manifest last from what the agent recorded, and keeps the keys. The
// object layout, the manifest and every refusal are the same as through
// scn; only the per-file hash differs (HashXXH3).

// How the bytes of a transfer went.
const (
	ViaAgent = "agent" // straight between the machine and the store
	ViaSCN   = "scn"   // through scn's process, over SSH
)

// Transport says how a transfer moved its bytes.
type Transport struct {
	Via string
	// SCNBytes is how much of the tar stream passed through scn's
	// process: all of it via scn, none via the agent.
	SCNBytes int64
	// Notice says why an agent was wanted but not used ("" otherwise).
	Notice string
	// AgentRSS is the agent's peak resident set on the machine, as it
	// reported it (0 via scn, or when its system does not say).
	AgentRSS int64
}

// counted wraps a progress callback (nil: none) and remembers the last
// count: the bytes that passed through scn on the SSH path. moved (nil:
// none) hears each count's growth as it happens: those bytes crossed the
// machine's link, whatever becomes of the transfer.
func counted(progress func(int64), moved func(int64)) (func(int64), *int64) {
	n := new(int64)
	return func(done int64) {
		if moved != nil && done > *n {
			moved(done - *n)
		}
		*n = done
		if progress != nil {
			progress(done)
		}
	}, n
}

// netSeen turns the running network totals an agent stamps on its
// messages into the growth a Moved callback hears.
type netSeen struct{ sent, received int64 }

func (n *netSeen) saw(m wire.Msg, moved func(sent, received int64)) {
	ds, dr := max(m.NetSent-n.sent, 0), max(m.NetReceived-n.received, 0)
	n.sent, n.received = n.sent+ds, n.received+dr
	if moved != nil && (ds > 0 || dr > 0) {
		moved(ds, dr)
	}
}

// urlTTL is how long a presigned URL works: long enough for a 16 MiB part
// on a slow link, short enough that a leaked one is soon useless. An
// agent asks for a new one when it nears expiry or the store refuses it.
const urlTTL = 10 * time.Minute

// access says how the machine reaches the store for key, or why it cannot.
type access struct {
	presigner store.Presigner
	shared    store.Shared
	wire      wire.Access
	cleanup   func() // removes the probe file
}

func accessFor(ctx context.Context, st store.Store, probeKey string) (*access, error) {
	a := &access{cleanup: func() {}}
	if sh, ok := store.SharedOf(st); ok {
		path, token, remove, err := sh.Probe()
		if err != nil {
			return nil, err
		}
		a.shared, a.cleanup = sh, remove
		a.wire = wire.Access{ProbeFile: path, ProbeToken: token}
		return a, nil
	}
	if p, ok := store.PresignerOf(st); ok {
		head, err := p.PresignHead(ctx, probeKey, urlTTL)
		if err != nil {
			return nil, err
		}
		a.presigner = p
		a.wire = wire.Access{Presigned: true, Probe: wireRequest(head), PartSize: p.PartSize(), Concurrency: p.Concurrency(),
			CA: string(p.CertificateAuthorities())}
		return a, nil
	}
	return nil, fmt.Errorf("%w: the store %s gives machines no direct access", agentctl.ErrUnavailable, st)
}

// abortUnlessDone aborts up unless *done says the transfer completed it:
// deferred, it covers every way out, scn's cancellation included.
func abortUnlessDone(ctx context.Context, up upload, done *bool) {
	if !*done {
		cctx, cancel := cleanupCtx(ctx)
		defer cancel()
		up.abort(cctx)
	}
}

// reservation is what reserve returned.
type reservation struct {
	up  upload
	err error
}

// reserve starts the object an agent writes: a multipart upload, or the
// file to write into.
func (a *access) reserve(ctx context.Context, key string) (upload, error) {
	if a.shared != nil {
		return newFileUpload(ctx, a.shared, key)
	}
	return newMultipartUpload(ctx, a.presigner, key)
}

func wireRequest(r store.Request) *wire.Request {
	return &wire.Request{Method: r.Method, URL: r.URL, Header: r.Header, ValidFor: time.Until(r.Expires).Seconds()}
}

// notice is the one line shown when the bytes go through scn although an
// agent was wanted.
func notice(show func(string), machine string, err error) string {
	msg := strings.TrimPrefix(err.Error(), agentctl.ErrUnavailable.Error()+": ")
	line := fmt.Sprintf("streaming through scn over SSH: scn's agent cannot move the bytes on instance %s (%s)", cmp.Or(machine, "(unknown)"), msg)
	if show != nil {
		show(line)
	}
	return line
}

// begin starts the agent with job and waits for its verdict on st: ready,
// or an ErrUnavailable error after telling it to stop, which the Launcher
// remembers (Refused) so the next transfers between the machine and st do
// not ask again for a while.
func begin(ctx context.Context, l *agentctl.Launcher, x remote.Execer, machine string, st store.Store, job wire.Msg) (*agentctl.Session, error) {
	s, err := l.Start(ctx, x, machine)
	if err != nil {
		return nil, err
	}
	if err := s.Send(job); err != nil {
		s.Close()
		return nil, err
	}
	m, err := s.Recv(ctx)
	switch {
	case err != nil:
		s.Close()
		return nil, err
	case m.Type == wire.Unreachable:
		s.Send(wire.Msg{Type: wire.Stop})
		s.Close()
		err := fmt.Errorf("%w: the machine cannot reach the store: %s", agentctl.ErrUnavailable, m.Error)
		l.Unreachable(machine, st.String(), err)
		return nil, err
	case m.Type != wire.Ready:
		s.Kill()
		return nil, fmt.Errorf("the agent answered %q to its job", m.Type)
	}
	l.Reached(machine, st.String())
	return s, nil
}

// createViaAgent runs Archive on the machine, uploading to the store, and
// returns the manifest the agent recorded (checked like any manifest) and
// when the transfer began. A machine the Launcher already knows no agent
// runs on, or that could not reach the store a moment ago, costs nothing
// here: no agent starts and no upload is started for it. The upload is
// completed only once the agent reported every part and the manifest
// checked out; otherwise it is aborted (or, if scn dies first, left for
// `scn cleanup` under the snapshot's key).
func createViaAgent(ctx context.Context, opts CreateOptions) (*Manifest, time.Time, error) {
	if err := opts.Agent.Refused(opts.Source, opts.Store.String()); err != nil {
		return nil, time.Time{}, err // no upload to start and abort for nothing
	}
	key := dataKey(opts.Name)
	acc, err := accessFor(ctx, opts.Store, manifestKey(opts.Name))
	if err != nil {
		return nil, time.Time{}, err
	}
	defer acc.cleanup()
	job := wire.Msg{Type: wire.Create, CreateJob: &wire.CreateJob{Path: opts.Path, Exclude: opts.Exclude, Hash: HashXXH3, Store: acc.wire}}
	// The upload starts while the agent does: the agent's launch and its
	// probe of the store are round trips to the machine, the upload's a
	// round trip to the store, and on a real drill they overlap. An
	// upload the agent then cannot use is aborted like any other.
	reserved := make(chan reservation, 1)
	go func() {
		up, err := acc.reserve(ctx, key)
		reserved <- reservation{up, err}
	}()
	s, err := begin(ctx, opts.Agent, opts.Exec, opts.Source, opts.Store, job)
	r := <-reserved
	done := false
	if r.err == nil {
		defer abortUnlessDone(ctx, r.up, &done) // after the agent's session closed: no part lands after it
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	defer s.Close()
	if r.err != nil {
		s.Send(wire.Msg{Type: wire.Stop})
		return nil, time.Time{}, r.err
	}
	up := r.up
	began := time.Now()
	if err := s.Send(wire.Msg{Type: wire.Start, File: up.file()}); err != nil {
		return nil, time.Time{}, err
	}
	var entries entryCollector
	msg, err := serve(ctx, s, handlers{mint: up.presign, part: up.part, entries: entries.add, progress: opts.Progress, moved: opts.Moved})
	if err != nil {
		return nil, time.Time{}, err
	}
	if msg.Type != wire.Created {
		return nil, time.Time{}, fmt.Errorf("the agent sent %q during a snapshot", msg.Type)
	}
	m, err := agentManifest(msg.Manifest, &entries, opts.Name)
	if err != nil {
		return nil, time.Time{}, err
	}
	m.Transport = Transport{Via: ViaAgent, AgentRSS: msg.PeakRSS}
	if err := up.complete(ctx, m.BytesStored); err != nil {
		return nil, time.Time{}, err
	}
	done = true
	return m, began, nil
}

// agentManifest checks the manifest the agent recorded — its data fields
// and the entries it sent before them — named as it will be written: a
// snapshot no restore would accept is never completed.
func agentManifest(data json.RawMessage, entries *entryCollector, name string) (*Manifest, error) {
	if len(data)+entries.bytes > maxManifestBytes {
		return nil, errAgentManifestTooLarge
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("the agent's manifest is not JSON: %w", err)
	}
	if len(m.Entries) > 0 {
		return nil, errors.New("the agent's manifest lists entries of its own; they come before it, so the snapshot was not written")
	}
	m.Name, m.Entries, m.lines = name, entries.entries, &entries.lines
	// Checked as decoded, not re-encoded and parsed: with 100,000 entries
	// every pass over the JSON adds to the snapshot's time.
	if err := checkManifest(&m, name); err != nil {
		return nil, fmt.Errorf("the manifest the agent recorded is unusable, so the snapshot was not written: %w", err)
	}
	return &m, nil
}

var errAgentManifestTooLarge = fmt.Errorf("the agent's manifest is larger than %d bytes, so the snapshot was not written", maxManifestBytes)

// entryCollector decodes a snapshot's entries as the agent sends them,
// while the bytes still move (wire.Entries), and encodes them as
// manifest.json will list them.
type entryCollector struct {
	entries []Entry
	bytes   int // of their JSON
	lines   entryLines
}

func (c *entryCollector) add(raw json.RawMessage) error {
	if c.bytes += len(raw); c.bytes > maxManifestBytes {
		return errAgentManifestTooLarge
	}
	var batch []Entry
	if err := json.Unmarshal(raw, &batch); err != nil {
		return fmt.Errorf("the agent's entries do not decode: %w", err)
	}
	c.entries = append(c.entries, batch...)
	return c.lines.add(batch)
}

// serveUpload answers an agent filling up: presigns each part it needs,
// records the parts it reports and passes its progress and its network
// bytes on, until its final message, which it returns (a failure also as
// an error).
func serveUpload(ctx context.Context, s *agentctl.Session, up upload, progress func(int64), moved func(sent, received int64)) (wire.Msg, error) {
	return serve(ctx, s, handlers{mint: up.presign, part: up.part, progress: progress, moved: moved})
}

// handlers are what serve does with an agent's messages before its last.
type handlers struct {
	// mint presigns the URL the agent needs: part n, or 0 for the
	// object's GET.
	mint     func(context.Context, int) (store.Request, error)
	part     func(store.Part) error      // a part it uploaded (nil: none expected)
	entries  func(json.RawMessage) error // a create's entries (nil: none expected)
	progress func(int64)                 // how far it got (optional)
	// moved hears the growth of the agent's network totals as each
	// message brings them (optional): what its machine's link carried.
	moved func(sent, received int64)
}

// serve answers an agent moving bytes with h until its final message,
// which it returns (a failure also as an error).
func serve(ctx context.Context, s *agentctl.Session, h handlers) (wire.Msg, error) {
	var net netSeen
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return msg, fmt.Errorf("the agent on the machine: %w", err)
		}
		net.saw(msg, h.moved) // a failure, too, has paid for what it moved
		switch {
		case msg.Type == wire.Need:
			grant := wire.Msg{Type: wire.Grant, N: msg.N}
			if r, err := h.mint(ctx, msg.N); err != nil {
				grant.Error = err.Error()
			} else {
				grant.Request = wireRequest(r)
			}
			if err := s.Send(grant); err != nil {
				return msg, err
			}
		case msg.Type == wire.Part && h.part != nil:
			if err := h.part(store.Part{Number: msg.N, ETag: msg.ETag, Size: msg.Size}); err != nil {
				return msg, err
			}
		case msg.Type == wire.Entries && h.entries != nil:
			if err := h.entries(msg.Entries); err != nil {
				return msg, err
			}
		case msg.Type == wire.Progress:
			if h.progress != nil {
				h.progress(msg.Done)
			}
		case msg.Type == wire.Failed:
			return msg, errors.New(msg.Error)
		default:
			return msg, nil
		}
	}
}

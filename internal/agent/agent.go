// Package agent is scn's data plane on a machine: the program scn copies to
// an instance (cmd/scn-agent, or scn's own executable as `scn agent`) and
// talks to over the SSH session's stdin and stdout (package wire). It runs
// one job per session: a snapshot — the machine's tar, the recorder
// hashing every file (xxh3-128), LZ4 in parallel blocks, and parts
// uploaded straight to the store with URLs scn presigned — or a restore —
// ranged GETs in parallel, LZ4, the hostile-entry filter, parallel writers
// into a staging directory, verification, and the move into place — all
// with internal/snapshot's own pieces. It never holds the store's keys:
// only URLs that expire within minutes, which it never logs.
//
// When its stdin ends before scn said goodbye, scn is gone (killed, the
// connection cut): the agent cancels its job, removes what it wrote, and
// exits, so nothing keeps running on the machine.
//
// Memory is bounded whatever the workspace size. A snapshot holds LZ4
// 2×(min(cores, 8)+1)×1 MiB blocks and (concurrency+1) parts in flight
// (5×16 MiB by default), plus a 4 MiB pipe when the tar is not GNU tar
// and writes the stream itself: about 100 MiB. Entries go to scn as they
// are recorded, 1,024 at a time, and are not kept; what stays is the
// tree that checks links and duplicates, about 150 bytes per entry. A
// restore holds (concurrency+1) ranges of 8 MiB, LZ4 2×(min(cores, 8)+2)
// ×1 MiB and 4×writers×256 KiB of file data (8 MiB with 8 writers): about
// 70 MiB, plus the manifest scn sends, about 200 bytes per entry. The Go
// heap is capped softly at 192 MiB (SetMemoryLimit) so the process stays
// under 256 MiB RSS.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
)

// MemoryLimit is the agent's soft Go memory limit (unless GOMEMLIMIT says
// otherwise).
const MemoryLimit = 192 << 20

// errSCNGone is the cause of a job cancelled because its session ended.
var errSCNGone = errors.New("scn ended the session (its stdin closed) before the job finished")

// Main runs the agent on the process's stdin and stdout and returns its
// exit code: 0 when the job succeeded or scn stopped it before it began,
// 1 otherwise. Both cmd/scn-agent and the hidden `scn agent` call it.
func Main() int {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
	// A write to a closed stdout fails instead of killing the process
	// with SIGPIPE: it must live long enough to remove what it wrote.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return Serve(ctx, os.Stdin, os.Stdout, os.Stderr)
}

// Serve speaks the protocol on in and out (diagnostics to errw) and
// returns the exit code.
func Serve(ctx context.Context, in io.Reader, out, errw io.Writer) int {
	s := newSession(in, out)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-s.gone:
			cancel(errSCNGone)
		case <-ctx.Done():
		}
	}()
	fail := func(err error) int {
		fmt.Fprintln(errw, "scn agent:", err)
		return 1
	}
	if err := s.send(wire.Msg{Type: wire.Hello, Version: wire.Version, OS: runtime.GOOS, Arch: runtime.GOARCH}); err != nil {
		return fail(err)
	}
	job, ok := s.next(ctx)
	if !ok {
		return 0 // scn left before giving a job: nothing to do
	}
	var j runner
	switch {
	case job.Type == wire.Create && job.CreateJob != nil:
		j = &creator{job: job.CreateJob}
	case job.Type == wire.Restore && job.RestoreJob != nil:
		j = &restorer{job: job.RestoreJob}
	case job.Type == wire.Send && job.SendJob != nil:
		j = &sender{job: job.SendJob}
	case job.Type == wire.Receive && job.ReceiveJob != nil:
		j = &receiver{job: job.ReceiveJob}
	default:
		return fail(fmt.Errorf("expected a create, restore, send or receive job, got %q", job.Type))
	}
	a, err := newAgent(s, j.access())
	if err != nil {
		return fail(err)
	}
	if err := a.probe(ctx); err != nil {
		s.send(wire.Msg{Type: wire.Unreachable, Error: err.Error()})
		s.next(ctx) // scn answers stop, or leaves
		return 0
	}
	if err := s.send(wire.Msg{Type: wire.Ready}); err != nil {
		return fail(err)
	}
	m, ok := s.next(ctx)
	if !ok || m.Type != wire.Start {
		return 0 // stop: scn streams the bytes itself
	}
	if m.File != "" {
		a.acc.File = m.File // the file scn reserved for a snapshot, or an increment's
	}
	a.size = m.Size // of the object a receive reads
	result, err := j.run(ctx, a)
	if cause := context.Cause(ctx); cause != nil {
		err = cause // the session ended or a signal came: say why, not how it showed
	}
	if err != nil {
		s.send(wire.Msg{Type: wire.Failed, Error: err.Error(), Result: result})
		return fail(err)
	}
	done := j.done(result)
	done.PeakRSS = peakRSS()
	if err := s.send(done); err != nil {
		return fail(err)
	}
	s.next(ctx) // until scn closes stdin: it is still using what we report
	return 0
}

// runner is one kind of job.
type runner interface {
	access() wire.Access
	// run does the job; the result goes in the final message.
	run(ctx context.Context, a *agent) (json.RawMessage, error)
	done(result json.RawMessage) wire.Msg
}

// session is the agent's end of the control channel.
type session struct {
	wmu sync.Mutex
	enc *json.Encoder

	msgs chan wire.Msg // everything but grants, in order
	gone chan struct{} // closed when stdin ends

	mu     sync.Mutex
	grants map[int]chan wire.Msg // need sent, grant awaited, by part
	ended  bool

	// the job's bytes over the network so far (agent.do), stamped on
	// every message
	netSent, netReceived atomic.Int64
}

func newSession(in io.Reader, out io.Writer) *session {
	s := &session{enc: json.NewEncoder(out), msgs: make(chan wire.Msg, 16), gone: make(chan struct{}), grants: map[int]chan wire.Msg{}}
	go s.read(in)
	return s
}

// read decodes scn's messages until stdin ends, handing grants to whoever
// needs them and the rest to next.
func (s *session) read(in io.Reader) {
	dec := json.NewDecoder(in)
	defer func() {
		s.mu.Lock()
		s.ended = true
		for n, ch := range s.grants {
			close(ch)
			delete(s.grants, n)
		}
		s.mu.Unlock()
		close(s.gone)
	}()
	for {
		var m wire.Msg
		if err := dec.Decode(&m); err != nil {
			return // EOF, or garbage: either way scn is not talking any more
		}
		if m.Type == wire.Grant {
			s.mu.Lock()
			ch, ok := s.grants[m.N]
			delete(s.grants, m.N)
			s.mu.Unlock()
			if ok {
				ch <- m
			}
			continue
		}
		select {
		case s.msgs <- m:
		case <-time.After(time.Minute):
			return // nobody listens: the job is over
		}
	}
}

// next returns scn's next message; false once stdin ended or ctx is done.
func (s *session) next(ctx context.Context) (wire.Msg, bool) {
	select {
	case m := <-s.msgs:
		return m, true
	case <-s.gone:
		select {
		case m := <-s.msgs:
			return m, true
		default:
			return wire.Msg{}, false
		}
	case <-ctx.Done():
		return wire.Msg{}, false
	}
}

func (s *session) send(m wire.Msg) error {
	if m.Type != wire.Hello {
		m.NetSent, m.NetReceived = s.netSent.Load(), s.netReceived.Load()
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.enc.Encode(m); err != nil {
		return fmt.Errorf("writing to scn: %w", err)
	}
	return nil
}

// need asks scn for URL n (renew: the one held no longer works) and
// returns where the grant will arrive; the channel closes if the session
// ends first.
func (s *session) need(n int, renew bool) (<-chan wire.Msg, error) {
	ch := make(chan wire.Msg, 1)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil, errSCNGone
	}
	s.grants[n] = ch
	s.mu.Unlock()
	if err := s.send(wire.Msg{Type: wire.Need, N: n, Renew: renew}); err != nil {
		return nil, err
	}
	return ch, nil
}

// progress reports bytes done, at most ten times a second (and the last).
type progress struct {
	s    *session
	mu   sync.Mutex
	last time.Time
	sent int64
}

func (p *progress) report(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond || done == p.sent {
		return
	}
	p.last, p.sent = time.Now(), done
	p.s.send(wire.Msg{Type: wire.Progress, Done: done})
}

func (p *progress) flush(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done != p.sent {
		p.sent = done
		p.s.send(wire.Msg{Type: wire.Progress, Done: done})
	}
}

// peakRSS is this process's peak resident set (VmHWM in
// /proc/self/status), 0 where the system does not say.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

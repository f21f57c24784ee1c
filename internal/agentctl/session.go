package agentctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
	"github.com/scnlabs/scn/internal/remote"
)

// errNeedsInstall: the start script found no agent with the right hash.
var errNeedsInstall = errors.New("agent missing or not matching its hash")

// helloTimeout bounds the wait for a started agent's first line.
const helloTimeout = time.Minute

// Session is a running agent: one job, JSON lines both ways. Close it.
type Session struct {
	Hello wire.Msg

	cancel context.CancelFunc
	stop   func() bool // drops the hook that closes the session with its caller's context
	stdin  *io.PipeWriter
	wmu    sync.Mutex
	enc    *json.Encoder
	msgs   chan wire.Msg
	stderr *remote.Tail

	done   chan struct{} // closed when the remote command ended
	code   int
	runErr error
	readMu sync.Mutex
	rerr   error // why the stdout stream ended (nil: EOF)
}

// startSession starts cmd (the start script) and waits for hello.
func startSession(parent context.Context, x remote.Execer, cmd string) (*Session, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &Session{cancel: cancel, stdin: inW, enc: json.NewEncoder(inW), msgs: make(chan wire.Msg, 64),
		stderr: remote.NewTail(4096), done: make(chan struct{})}
	// The session outlives parent's cancellation only as long as it takes
	// to say goodbye: then it is closed, and the agent exits.
	// The hook may run before AfterFunc returns (parent already done), so
	// it must not touch s.stop: it calls shut, not Close.
	s.stop = context.AfterFunc(parent, func() { s.shut() })
	go func() {
		s.code, s.runErr = x.Exec(ctx, cmd, inR, outW, s.stderr)
		outW.Close()
		inR.CloseWithError(io.ErrClosedPipe) // later Sends fail instead of blocking
		close(s.done)
	}()
	go s.read(outR)

	wait, cancelWait := context.WithTimeout(parent, helloTimeout)
	defer cancelWait()
	m, err := s.Recv(wait)
	switch {
	case err == nil && m.Type == wire.Hello && m.Version == wire.Version:
		s.Hello = m
		return s, nil
	case err == nil && m.Type == wire.Hello:
		s.Kill()
		return nil, fmt.Errorf("%w: it speaks protocol version %d, this scn %d", ErrUnavailable, m.Version, wire.Version)
	case err == nil:
		s.Kill()
		return nil, fmt.Errorf("%w: it started with %q instead of hello", ErrUnavailable, m.Type)
	}
	if parent.Err() != nil {
		s.Kill()
		return nil, context.Cause(parent)
	}
	<-s.done
	if s.runErr == nil && s.code == exitNeedsInstall {
		return nil, errNeedsInstall
	}
	if s.runErr != nil {
		return nil, fmt.Errorf("starting the agent: %w", s.runErr) // the connection, not the agent
	}
	// It could not run: noexec home, wrong binary, out of memory...
	return nil, fmt.Errorf("%w: %v", ErrUnavailable, s.ended())
}

func (s *Session) read(r io.Reader) {
	dec := json.NewDecoder(r)
	defer close(s.msgs)
	for {
		var m wire.Msg
		err := dec.Decode(&m)
		if err != nil {
			if err != io.EOF {
				s.readMu.Lock()
				s.rerr = fmt.Errorf("the agent wrote something that is not a protocol message: %w", err)
				s.readMu.Unlock()
				s.Kill()
				io.Copy(io.Discard, r)
			}
			return
		}
		s.msgs <- m
	}
}

// Send writes one message to the agent.
func (s *Session) Send(m wire.Msg) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.enc.Encode(m); err != nil {
		return fmt.Errorf("the agent's session ended: %v", s.ended())
	}
	return nil
}

// Recv returns the agent's next message. When the agent has ended without
// one, the error says how (exit status, what it wrote on stderr).
func (s *Session) Recv(ctx context.Context) (wire.Msg, error) {
	select {
	case m, ok := <-s.msgs:
		if ok {
			return m, nil
		}
	case <-ctx.Done():
		return wire.Msg{}, context.Cause(ctx)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return wire.Msg{}, context.Cause(ctx)
	}
	return wire.Msg{}, s.ended()
}

// ended describes how the agent's session ended.
func (s *Session) ended() error {
	select {
	case <-s.done:
	default:
		return errors.New("the agent stopped talking")
	}
	s.readMu.Lock()
	rerr := s.rerr
	s.readMu.Unlock()
	stderr := s.stderr.String()
	switch {
	case rerr != nil:
		return rerr
	case s.runErr != nil:
		return s.runErr
	case stderr != "":
		return fmt.Errorf("the agent exited %d: %s", s.code, stderr)
	}
	return fmt.Errorf("the agent exited %d", s.code)
}

// Close ends the session: the agent's stdin closes, and it exits once it
// sees that. Close waits for it (up to 10 s, then cuts the session).
func (s *Session) Close() error {
	s.stop()
	s.shut()
	return nil
}

// shut is Close without dropping the parent's hook (which calls it).
func (s *Session) shut() {
	s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cut()
	}
}

// Kill cuts the session at once (the agent sees its stdin end).
func (s *Session) Kill() {
	s.stop()
	s.cut()
}

func (s *Session) cut() {
	s.stdin.CloseWithError(errors.New("session killed"))
	s.cancel()
}

// Done is closed once the agent's session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/remote"
)

// randomStream is n deterministic pseudo-random bytes.
func randomStream(n int64, seed uint64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), n)
}

func sum(r io.Reader) ([32]byte, int64) {
	h := sha256.New()
	n, _ := io.Copy(h, r)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, n
}

// hashWriter hashes what it is given.
type hashWriter struct {
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newHashWriter() *hashWriter { return &hashWriter{h: sha256.New()} }

func (w *hashWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

func (w *hashWriter) sum() [32]byte {
	var out [32]byte
	copy(out[:], w.h.Sum(nil))
	return out
}

func TestExecStreamsFiftyMegabytes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{})
	const size = 50 << 20
	want, _ := sum(randomStream(size, 1))
	out := newHashWriter()
	code, err := c.Exec(context.Background(), "cat", randomStream(size, 1), out, nil)
	if err != nil || code != 0 {
		t.Fatalf("cat: code %d, err %v", code, err)
	}
	if out.n != size || out.sum() != want {
		t.Fatalf("got %d bytes back, checksum match %v; want %d bytes, same checksum", out.n, out.sum() == want, size)
	}
}

func TestExecExitCodesStderrAndEnvironment(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{})
	ctx := context.Background()

	var out, errb bytes.Buffer
	code, err := c.Exec(ctx, "echo out; echo err >&2; exit 3", nil, &out, &errb)
	if err != nil || code != 3 || out.String() != "out\n" || errb.String() != "err\n" {
		t.Fatalf("got code %d err %v stdout %q stderr %q", code, err, out.String(), errb.String())
	}
	code, err = c.Exec(ctx, "kill -TERM $$", nil, nil, nil)
	if err != nil || code != 128+int(syscall.SIGTERM) {
		t.Fatalf("killed by SIGTERM: code %d err %v, want %d", code, err, 128+int(syscall.SIGTERM))
	}
	// nil stdin is an immediate EOF: cat ends at once.
	got, err := remote.Run(ctx, c, "cat; echo end", nil)
	if err != nil || got != "end\n" {
		t.Fatalf("cat with nil stdin: %q, %v", got, err)
	}
	got, err = remote.Run(ctx, c, `pwd; echo "$SCN_WORKSPACE"`, nil)
	if want := s.workspace() + "\n" + s.workspace() + "\n"; err != nil || got != want {
		t.Fatalf("workspace: got %q, %v; want %q", got, err, want)
	}
	_, err = remote.Run(ctx, c, "echo boom >&2; exit 7", nil)
	var ee *remote.ExitError
	if !errors.As(err, &ee) || ee.Code != 7 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run of a failing command: %v", err)
	}
}

func TestConcurrentSessionsShareOneConnection(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			const size = 2 << 20
			want, _ := sum(randomStream(size, uint64(i+10)))
			out := newHashWriter()
			code, err := c.Exec(context.Background(), "cat", randomStream(size, uint64(i+10)), out, nil)
			if err != nil || code != 0 || out.sum() != want {
				errs <- errors.New("session " + strconv.Itoa(i) + " corrupted or failed")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("server accepted %d connections for 8 sessions, want 1", n)
	}
}

// lineSignal reports the first line written to it.
type lineSignal struct {
	line chan string // buffered, gets the first line

	mu   sync.Mutex
	buf  bytes.Buffer
	sent bool
}

func (l *lineSignal) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if i := bytes.IndexByte(l.buf.Bytes(), '\n'); i >= 0 && !l.sent {
		l.line <- string(l.buf.Bytes()[:i])
		l.sent = true
	}
	return len(p), nil
}

func TestCancelClosesSessionAndKillsRemoteProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineSignal{line: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "echo $$; exec sleep 100", nil, out, nil)
		done <- err
	}()
	var pid int
	select {
	case l := <-out.line:
		pid, _ = strconv.Atoi(l)
	case <-time.After(10 * time.Second):
		t.Fatal("remote command never printed its pid")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Exec returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Exec did not return after cancel")
	}
	waitProcessGone(t, pid)
	// The connection is still good for the next command.
	if got, err := remote.Run(context.Background(), c, "echo again", nil); err != nil || got != "again\n" {
		t.Fatalf("after cancel: %q, %v", got, err)
	}
}

// waitProcessGone polls (bounded) until pid no longer exists.
func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 1 {
		t.Fatalf("bad pid %d", pid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("remote process %d still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failingReader gives some bytes, then an error.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("upstream broke")
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestStdinReadErrorCutsCommandOff(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{})
	var out bytes.Buffer
	_, err := c.Exec(context.Background(), "cat > got; echo complete", &failingReader{n: 100 << 10}, &out, nil)
	if err == nil || !strings.Contains(err.Error(), "upstream broke") {
		t.Fatalf("Exec with a failing stdin: %v, want the read error", err)
	}
	if strings.Contains(out.String(), "complete") {
		t.Fatal("the remote command saw a clean EOF after a failed read")
	}
}

// failingWriter accepts some bytes, then fails.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestStdoutWriteErrorStopsCommand(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.Exec(ctx, "yes", nil, &failingWriter{n: 1 << 20}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Exec writing to a failing stdout: %v, want the write error", err)
	}
}

func TestThrottledProxyCarriesStreamIntact(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	p := startProxy(t, s.addr, 512<<10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Keepalive replies queue behind megabytes of stream on such a link;
	// the data still moving must count as a sign of life.
	c, err := remote.Dial(ctx, p.endpoint(), remote.Options{Signer: s.clientKey.Signer, Keepalive: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 2 << 20
	want, _ := sum(randomStream(size, 7))
	out := newHashWriter()
	code, err := c.Exec(ctx, "cat", randomStream(size, 7), out, nil)
	if err != nil || code != 0 || out.n != size || out.sum() != want {
		t.Fatalf("through a 512 KB/s link: code %d err %v, %d of %d bytes, checksum ok %v",
			code, err, out.n, size, out.sum() == want)
	}
	if n := p.accepts.Load(); n != 1 {
		t.Fatalf("%d connections: the slow connection was declared dead and redialled", n)
	}
}

func TestKeepaliveDetectsDeadPeerAndNextExecRedials(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	p := startProxy(t, s.addr, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := remote.Dial(ctx, p.endpoint(), remote.Options{Signer: s.clientKey.Signer, Keepalive: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := remote.Run(ctx, c, "true", nil); err != nil {
		t.Fatal(err)
	}
	// A command in flight when the peer goes silent fails...
	stdin, stdinW := io.Pipe()
	defer stdinW.Close()
	out := &lineSignal{line: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "echo started; cat", stdin, out, nil)
		done <- err
	}()
	select {
	case <-out.line:
	case err := <-done:
		t.Fatalf("command ended before the peer went silent: %v", err)
	}
	p.freeze()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "declared dead") {
			t.Fatalf("Exec on a dead connection: %v, want a keepalive failure", err)
		}
	case <-ctx.Done():
		t.Fatal("keepalive never declared the frozen connection dead")
	}
	// ...and the next one dials again.
	got, err := remote.Run(ctx, c, "echo back", nil)
	if err != nil || got != "back\n" {
		t.Fatalf("Exec after the connection died: %q, %v", got, err)
	}
	if n := p.accepts.Load(); n != 2 {
		t.Fatalf("proxy saw %d connections, want 2 (original + redial)", n)
	}
}

func TestKeepaliveKeepsIdleConnection(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	c := dial(t, s, remote.Options{Keepalive: 200 * time.Millisecond})
	// Hold a session open across many keepalive intervals: the server
	// answers them, so the connection must stay up.
	got, err := remote.Run(context.Background(), c, "sleep 1.5; echo alive", nil)
	if err != nil || got != "alive\n" {
		t.Fatalf("long command with fast keepalives: %q, %v", got, err)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("server saw %d connections, want 1: a healthy connection was declared dead", n)
	}
}

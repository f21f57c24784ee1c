package remote_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/remote"
)

// TestMain doubles as the helper process of TestLoadOrCreateKeyRace.
func TestMain(m *testing.M) {
	if dir := os.Getenv("REMOTE_TEST_KEYDIR"); dir != "" {
		io.ReadAll(os.Stdin) // start line: the parent closes every helper's stdin at once
		k, err := remote.LoadOrCreateKey(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(k.AuthorizedKey)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// server is a real SSH server (the sandbox's) on 127.0.0.1.
type server struct {
	srv       *sandbox.Server
	addr      string
	port      int
	dir       string
	hostKey   *remote.Key
	clientKey *remote.Key
	accepts   *atomic.Int32
}

type serverOpts struct {
	addr      string      // listen address; default 127.0.0.1:0
	hostKey   *remote.Key // default: a new one
	clientKey *remote.Key // default: a new one
	faults    sandbox.Faults
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func startServer(t *testing.T, o serverOpts) *server {
	t.Helper()
	dir := t.TempDir()
	var err error
	if o.hostKey == nil {
		o.hostKey = newKey(t)
	}
	if o.clientKey == nil {
		o.clientKey = newKey(t)
	}
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	srv, err := sandbox.NewServer(dir, sandbox.Config{AuthorizedKeys: []string{o.clientKey.AuthorizedKey}, Faults: o.faults},
		o.hostKey.Signer, log.New(logf, "", log.Lmicroseconds))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{srv: srv, addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port, dir: dir,
		hostKey: o.hostKey, clientKey: o.clientKey, accepts: new(atomic.Int32)}
	go srv.Serve(countingListener{ln, s.accepts})
	t.Cleanup(func() { srv.Close() })
	return s
}

func newKey(t *testing.T) *remote.Key {
	t.Helper()
	k, err := remote.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (s *server) endpoint() remote.Endpoint {
	return remote.Endpoint{Host: "127.0.0.1", Port: s.port, User: "tester"}
}

func (s *server) workspace() string { return filepath.Join(s.dir, sandbox.WorkspaceDir) }

// dial connects a client to s and closes it at the end of the test.
func dial(t *testing.T, s *server, o remote.Options) *remote.Client {
	t.Helper()
	if o.Signer == nil {
		o.Signer = s.clientKey.Signer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := remote.Dial(ctx, s.endpoint(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// freePort returns a port nothing listens on (it was free a moment ago).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proxy forwards TCP to a target, optionally throttled, and can freeze: stop
// forwarding on the connections it holds while keeping them open, like a
// proxy whose backend vanished without a word.
type proxy struct {
	ln      net.Listener
	target  string
	rate    int64
	accepts atomic.Int32

	mu    sync.Mutex
	pairs []*pair
}

type pair struct {
	a, b   net.Conn
	frozen atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (p *pair) close() {
	p.once.Do(func() {
		close(p.closed)
		p.a.Close()
		p.b.Close()
	})
}

func startProxy(t *testing.T, target string, bytesPerSec int64) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, rate: bytesPerSec}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepts.Add(1)
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			a.Close()
			continue
		}
		pr := &pair{a: a, b: sandbox.Throttle(b, p.rate), closed: make(chan struct{})}
		p.mu.Lock()
		p.pairs = append(p.pairs, pr)
		p.mu.Unlock()
		go p.pump(pr, pr.a, pr.b)
		go p.pump(pr, pr.b, pr.a)
	}
}

// pump copies src to dst until either ends or the pair freezes.
func (p *proxy) pump(pr *pair, src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if pr.frozen.Load() {
			<-pr.closed
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				pr.close()
				return
			}
		}
		if err != nil {
			pr.close()
			return
		}
	}
}

// freeze stops forwarding on every current connection.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		pr.frozen.Store(true)
	}
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range p.pairs {
		pr.close()
	}
}

func (p *proxy) endpoint() remote.Endpoint {
	return remote.Endpoint{Host: "127.0.0.1", Port: p.port(), User: "tester"}
}

func itoa(i int) string { return strconv.Itoa(i) }

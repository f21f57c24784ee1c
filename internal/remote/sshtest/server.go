// Package sshtest is a real SSH server on 127.0.0.1 for tests, standing in
// for a machine's sshd: it accepts public keys listed like authorized_keys
// lines (optionally for one login only), runs each exec request with
// `sh -c` in a folder of the test's choosing, can drop its first
// connections like a proxy whose backend is not up yet, and records what it
// was asked. Beside it are a key generator and a minimal client (Run,
// Probe) that check a machine answers without going through the remote
// package's pooled client. The cloud fakes (vasttest, gcptest) hand these
// servers out as the machines they rent.
package sshtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options configures a test SSH server.
type Options struct {
	AuthorizedKeys []string // authorized_keys lines accepted
	// User, when set, is the only login accepted (as a VM whose image
	// creates one user); empty accepts any user name.
	User    string
	HostKey ssh.Signer // nil: a fresh ed25519 key
	// DropFirst closes the first N TCP connections as soon as they are
	// accepted, like VAST's proxy before the container's sshd is up.
	DropFirst int
	// UpAt, when set, closes every connection accepted before that moment
	// the same way: the machine's sshd comes up at a time of its own,
	// not at any request's (a VAST container whose sshd answers while
	// the API still reports the status of the host's last heartbeat).
	UpAt time.Time
	Dir  string // working directory of commands; a temp dir when empty
	// Home, when set, is the machine's own HOME: commands run with it and
	// a clean environment (PATH, HOME, USER, LANG), as a machine's sshd
	// gives them, instead of inheriting the test process's. What they
	// install under ~ (scn's agent) stays on this machine.
	Home string
	Env  []string // added to a Home machine's environment, KEY=VALUE
}

// Server is a real SSH server on 127.0.0.1 that runs exec requests with
// `sh -c`.
type Server struct {
	Host    string
	Port    int
	HostKey ssh.PublicKey

	cfg     *ssh.ServerConfig
	ln      net.Listener
	dir     string
	env     []string // nil: the test process's
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   int
	execs   []string
	toDrop  int
	upAt    time.Time
	open    map[net.Conn]bool
	stopped bool
}

// Start starts a server; it stops, and its commands are killed, when the
// test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	allowed := map[string]bool{}
	for _, line := range o.AuthorizedKeys {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			t.Fatalf("sshtest.Start: authorized key %q: %v", line, err)
		}
		allowed[string(pk.Marshal())] = true
	}
	if o.HostKey == nil {
		o.HostKey = NewKey(t)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if o.User != "" && c.User() != o.User {
				return nil, fmt.Errorf("no login for %s", c.User())
			}
			if allowed[string(key.Marshal())] {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(o.HostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshtest.Start: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, HostKey: o.HostKey.PublicKey(),
		cfg: cfg, ln: ln, dir: o.Dir, ctx: ctx, cancel: cancel, toDrop: o.DropFirst, upAt: o.UpAt, open: map[net.Conn]bool{},
	}
	if o.Home != "" {
		path := os.Getenv("PATH")
		if path == "" {
			path = "/usr/local/bin:/usr/bin:/bin"
		}
		s.env = append([]string{"PATH=" + path, "HOME=" + o.Home, "USER=scn", "LOGNAME=scn", "SHELL=/bin/sh", "LANG=C.UTF-8"}, o.Env...)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, closes its connections, kills its commands and
// waits for its goroutines: the machine is gone. Closing twice is harmless.
func (s *Server) Close() {
	s.mu.Lock()
	s.stopped = true
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

// Connections is how many TCP connections were accepted, dropped ones included.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Execs lists the commands run so far.
func (s *Server) Execs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.execs...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		drop := s.toDrop > 0 || s.stopped || time.Now().Before(s.upAt)
		if s.toDrop > 0 {
			s.toDrop--
		}
		if !drop {
			s.open[c] = true
		}
		s.mu.Unlock()
		if drop {
			c.Close()
			continue
		}
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.open, c)
		s.mu.Unlock()
		c.Close()
	}()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // handshake bound
	conn, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go s.session(ch, creqs)
	}
}

// session serves one channel: env is ignored, exec runs, anything else is refused.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer s.wg.Done()
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "env":
			_ = req.Reply(true, nil)
		case "exec":
			if len(req.Payload) < 4 {
				_ = req.Reply(false, nil)
				continue
			}
			n := binary.BigEndian.Uint32(req.Payload)
			if int(n) > len(req.Payload)-4 {
				_ = req.Reply(false, nil)
				continue
			}
			cmd := string(req.Payload[4 : 4+n])
			_ = req.Reply(true, nil)
			code := s.run(ch, cmd)
			_, _ = ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(code)))
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}

func (s *Server) run(ch ssh.Channel, command string) int {
	s.mu.Lock()
	s.execs = append(s.execs, command)
	s.mu.Unlock()
	cmd := exec.CommandContext(s.ctx, "sh", "-c", command)
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.Stdout = ch
	cmd.Stderr = ch.Stderr()
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 255
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(ch.Stderr(), "sh: %v\n", err)
		return 127
	}
	// Not waited for: the channel's close ends it.
	go func() { _, _ = io.Copy(stdin, ch); stdin.Close() }()
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		return 255
	}
	return 0
}

package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// handshakeTimeout bounds a client's SSH handshake, so a stuck client cannot
// hold a connection forever.
const handshakeTimeout = 30 * time.Second

// Server serves SSH for one sandbox folder: publickey auth with the
// authorized keys, `exec` sessions run by /bin/sh in the workspace. It is
// safe for concurrent use.
type Server struct {
	cfg       Config
	keys      []ssh.PublicKey
	sshConfig *ssh.ServerConfig
	workspace string
	home      string
	bin       string // the sandbox's own tools (nvidia-smi), first on PATH
	user      string
	log       *log.Logger

	mu          sync.Mutex
	refuseUntil time.Time // set by the first Serve
	closed      bool
	listeners   map[net.Listener]struct{}
	conns       map[net.Conn]struct{}
	cmds        map[*command]struct{}
}

// NewServer prepares a server over dir (creating its workspace and home)
// that presents hostKey and admits cfg.AuthorizedKeys.
func NewServer(dir string, cfg Config, hostKey ssh.Signer, logger *log.Logger) (*Server, error) {
	s := &Server{
		cfg:       cfg,
		workspace: filepath.Join(dir, WorkspaceDir),
		home:      filepath.Join(dir, HomeDir),
		user:      CurrentUser(),
		log:       logger,
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
		cmds:      map[*command]struct{}{},
	}
	for _, d := range []string{s.workspace, s.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("sandbox folder: %w", err)
		}
	}
	for i, line := range cfg.AuthorizedKeys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("authorized key #%d in %s: %w", i+1, ConfigFile, err)
		}
		s.keys = append(s.keys, k)
	}
	var err error
	if s.bin, err = writeTools(dir, cfg.GPU); err != nil {
		return nil, err
	}
	if len(s.keys) == 0 {
		return nil, fmt.Errorf("no authorized key in %s: nobody could log in", ConfigFile)
	}
	s.sshConfig = &ssh.ServerConfig{
		PublicKeyCallback: s.authorize,
		ServerVersion:     "SSH-2.0-scn-sandbox",
	}
	s.sshConfig.AddHostKey(hostKey)
	return s, nil
}

// CurrentUser names the OS user the sandbox runs commands as.
func CurrentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func (s *Server) authorize(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	for _, k := range s.keys {
		if k.Type() == key.Type() && bytes.Equal(k.Marshal(), key.Marshal()) {
			return nil, nil
		}
	}
	s.log.Printf("refused key %s for %s from %s", ssh.FingerprintSHA256(key), meta.User(), meta.RemoteAddr())
	return nil, errors.New("key not authorized")
}

// Serve accepts connections on ln until ln or the server is closed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	if s.refuseUntil.IsZero() {
		s.refuseUntil = time.Now().Add(s.cfg.Faults.RefuseSSHFor)
	}
	refuseUntil := s.refuseUntil
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			delete(s.listeners, ln)
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		if time.Now().Before(refuseUntil) {
			s.log.Printf("fault refuse_ssh_for: dropped connection from %s", nc.RemoteAddr())
			nc.Close()
			continue
		}
		go s.handle(nc)
	}
}

// Close stops listening, drops every connection and kills every command.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	lns, conns := s.listeners, s.conns
	s.listeners, s.conns = map[net.Listener]struct{}{}, map[net.Conn]struct{}{}
	s.mu.Unlock()
	for ln := range lns {
		ln.Close()
	}
	s.KillCommands()
	for c := range conns {
		c.Close()
	}
	return nil
}

// KillCommands kills every running command's process group, as a machine
// losing power would.
func (s *Server) KillCommands() {
	s.mu.Lock()
	cmds := make([]*command, 0, len(s.cmds))
	for c := range s.cmds {
		cmds = append(cmds, c)
	}
	s.mu.Unlock()
	for _, c := range cmds {
		c.kill()
	}
}

// track registers a live connection; false once the server is closed.
func (s *Server) track(nc net.Conn, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		delete(s.conns, nc)
		return true
	}
	if s.closed {
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *Server) handle(nc net.Conn) {
	defer nc.Close()
	if !s.track(nc, true) {
		return
	}
	defer s.track(nc, false)
	link := Throttle(nc, s.cfg.Faults.LinkBytesPerSec)
	link.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(link, s.sshConfig)
	if err != nil {
		s.log.Printf("handshake with %s failed: %v", nc.RemoteAddr(), err)
		return
	}
	defer sc.Close()
	link.SetDeadline(time.Time{})
	s.log.Printf("%s logged in from %s", sc.User(), sc.RemoteAddr())
	go ssh.DiscardRequests(reqs) // keepalives get their (negative) reply here
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "this sandbox only opens sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			s.log.Printf("accept session from %s: %v", sc.RemoteAddr(), err)
			continue
		}
		go s.session(ch, creqs)
	}
	s.log.Printf("connection from %s closed", sc.RemoteAddr())
}

// session serves one channel: env requests, then one exec. Signals are
// ignored, as VAST's proxy does: clients must not depend on them. When the
// channel closes (the client gave up, the connection died) whatever the
// command left running is killed.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	var running *command
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name != "" && !strings.ContainsAny(kv.Name, "=\x00")
			if ok {
				env = append(env, kv.Name+"="+kv.Value)
			}
			req.Reply(ok, nil)
		case "exec":
			var p struct{ Command string }
			if running != nil || ssh.Unmarshal(req.Payload, &p) != nil {
				req.Reply(false, nil)
				continue
			}
			c, err := s.start(p.Command, env, ch)
			if err != nil {
				s.log.Printf("exec %q: %v", logShort(p.Command), err)
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			running = c
			go s.finish(c, ch)
		case "shell", "pty-req", "subsystem", "x11-req":
			s.log.Printf("refused %s request: this sandbox only runs exec commands", req.Type)
			req.Reply(false, nil)
		default:
			req.Reply(false, nil)
		}
	}
	if running != nil {
		running.kill()
	}
}

// logShort keeps logged commands short: the log is for finding which
// command misbehaved, not for replaying it.
func logShort(cmd string) string {
	cmd = strings.Join(strings.Fields(cmd), " ")
	if len(cmd) > 80 {
		return cmd[:80] + "…"
	}
	return cmd
}

package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/scnlabs/scn/internal/cloud"
	"golang.org/x/crypto/ssh"
)

// Pool keeps one Client per instance for the length of a run, all sharing
// the run's host key pins. It is safe for concurrent use.
type Pool struct {
	opts Options

	recheck func(ctx context.Context, inst *cloud.Instance) error

	mu      sync.Mutex
	clients map[string]*Client    // by instance id
	addrs   map[string]string     // instance id → address contacted, for Forget
	signers map[string]ssh.Signer // identity files already read, by path
}

// NewPool returns an empty pool that authenticates with signer; opts supplies
// timeouts, retries and keepalives (its Signer and HostKey are ignored: the
// key is signer, host keys come from each instance).
func NewPool(signer ssh.Signer, opts Options) *Pool {
	opts.Signer = signer
	opts.HostKey = ""
	return &Pool{opts: opts.withDefaults(), clients: map[string]*Client{}, addrs: map[string]string{}, signers: map[string]ssh.Signer{}}
}

// SetRecheck sets how a failed dial asks the provider about the instance
// before retrying (Options.Recheck). Call it before the pool is used.
func (p *Pool) SetRecheck(f func(ctx context.Context, inst *cloud.Instance) error) { p.recheck = f }

// endpoint and options for an instance: its published host key when the
// provider knows it, the pool's pins otherwise.
func (p *Pool) target(inst *cloud.Instance) (Endpoint, Options, error) {
	if inst.Host == "" || inst.Port <= 0 {
		return Endpoint{}, Options{}, fmt.Errorf("instance %s has no SSH address yet (status %s)", inst.ID, inst.Status)
	}
	o := p.opts
	o.HostKey = inst.HostKey
	if inst.IdentityFile != "" { // a host of the ssh target with its own key
		signer, err := p.identity(inst.IdentityFile)
		if err != nil {
			return Endpoint{}, Options{}, fmt.Errorf("instance %s: %w", inst.ID, err)
		}
		o.Signer = signer
	}
	if p.recheck != nil {
		rec := *inst
		o.Recheck = func(ctx context.Context) error { return p.recheck(ctx, &rec) }
	}
	ep := Endpoint{Host: inst.Host, Port: inst.Port, User: inst.User}
	p.mu.Lock()
	p.addrs[inst.ID] = ep.Addr()
	p.mu.Unlock()
	return ep, o, nil
}

// identity reads a private key file once.
func (p *Pool) identity(path string) (ssh.Signer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.signers[path]; s != nil {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading SSH key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var pass *ssh.PassphraseMissingError
	if errors.As(err, &pass) {
		return nil, fmt.Errorf("SSH key %s is protected by a passphrase: give scn a key without one (scn never asks for passphrases)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("SSH key %s: %w", path, err)
	}
	p.signers[path] = s
	return s, nil
}

// Client returns the instance's client, connecting if needed. A cached
// client whose address no longer matches the instance (VAST can move an
// instance from its proxy to a direct port) is replaced.
func (p *Pool) Client(ctx context.Context, inst *cloud.Instance) (*Client, error) {
	ep, o, err := p.target(inst)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	c := p.clients[inst.ID]
	if c == nil || c.ep != ep || c.opts.HostKey != o.HostKey {
		if c != nil {
			c.Close()
		}
		c = newClient(ep, o)
		p.clients[inst.ID] = c
	}
	p.mu.Unlock()
	if _, err := c.connection(ctx); err != nil {
		return nil, fmt.Errorf("instance %s: %w", inst.ID, err)
	}
	return c, nil
}

// Forget closes the instance's client and drops the pin for its address:
// the instance is gone and its address may go to another machine.
func (p *Pool) Forget(id string) {
	p.mu.Lock()
	c, addr := p.clients[id], p.addrs[id]
	delete(p.clients, id)
	delete(p.addrs, id)
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if addr != "" {
		p.opts.Pins.Forget(addr)
	}
}

// Close closes every client.
func (p *Pool) Close() {
	p.mu.Lock()
	clients := p.clients
	p.clients = map[string]*Client{}
	p.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
}

// probeWord is what a probe expects back; anything else (a banner, an
// error page from a proxy) is not an answer.
const probeWord = "scn-probe"

// Probe checks the instance answers SSH right now: one fresh connection
// (never a cached one, which could hide a server that stopped accepting),
// one attempt, `echo scn-probe`. It is cloud.WaitOptions.Probe.
func (p *Pool) Probe(ctx context.Context, inst *cloud.Instance) error {
	ep, o, err := p.target(inst)
	if err != nil {
		return err
	}
	o.RetryFor = 0
	o.Keepalive = -1
	c, err := Dial(ctx, ep, o)
	if err != nil {
		return err
	}
	defer c.Close()
	out, err := Run(ctx, c, "echo "+probeWord, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", ep, err)
	}
	if strings.TrimSpace(out) != probeWord {
		return fmt.Errorf("probe %s: expected %q, got %q", ep, probeWord, short(out))
	}
	return nil
}

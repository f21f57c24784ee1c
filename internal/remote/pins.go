package remote

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// Pins remembers the host key each address (host:port) showed the first time
// scn connected during a run. Cloud machines are new every run, so there is
// no known_hosts to check against; what matters is that the machine scn
// wrote files to is the one it reads them back from. One Pins is shared by
// every connection of a run; it is safe for concurrent use.
type Pins struct {
	mu   sync.Mutex
	keys map[string]ssh.PublicKey
}

// NewPins returns an empty pin set.
func NewPins() *Pins { return &Pins{keys: map[string]ssh.PublicKey{}} }

// HostKeyChangedError means an address answered with a different host key
// than the one pinned earlier in the run (or than the provider published).
type HostKeyChangedError struct {
	Addr     string
	Pinned   string // SHA256 fingerprint scn expected
	Now      string // SHA256 fingerprint the server showed
	Expected bool   // the pinned key was published by the provider, not seen on first contact
}

func (e *HostKeyChangedError) Error() string {
	if e.Expected {
		return fmt.Sprintf("host key for %s is not the one the provider published (expected %s, got %s); refusing to connect",
			e.Addr, e.Pinned, e.Now)
	}
	return fmt.Sprintf("host key for %s changed during the run (pinned %s, now %s); refusing to connect",
		e.Addr, e.Pinned, e.Now)
}

// Forget drops the pin for addr: the machine behind it is gone and the
// address may be handed to another one (VAST reuses proxy ports).
func (p *Pins) Forget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.keys, addr)
}

// pinned returns the key pinned for addr, nil if none.
func (p *Pins) pinned(addr string) ssh.PublicKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[addr]
}

// Callback returns the host key check for a connection to addr. When
// expected (an authorized_keys line) is not empty, the provider published
// the key: the server must show exactly it, and it replaces any earlier pin.
// Otherwise the first key seen is pinned and every later one must match.
func (p *Pins) Callback(addr, expected string) (ssh.HostKeyCallback, error) {
	var want ssh.PublicKey
	if strings.TrimSpace(expected) != "" {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(expected))
		if err != nil {
			return nil, fmt.Errorf("host key published for %s is not an authorized_keys line: %w", addr, err)
		}
		want = k
	}
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if want != nil {
			if !sameKey(want, key) {
				return &HostKeyChangedError{Addr: addr, Expected: true,
					Pinned: ssh.FingerprintSHA256(want), Now: ssh.FingerprintSHA256(key)}
			}
			p.mu.Lock()
			p.keys[addr] = key
			p.mu.Unlock()
			return nil
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		pinned, ok := p.keys[addr]
		if !ok {
			p.keys[addr] = key
			return nil
		}
		if !sameKey(pinned, key) {
			return &HostKeyChangedError{Addr: addr,
				Pinned: ssh.FingerprintSHA256(pinned), Now: ssh.FingerprintSHA256(key)}
		}
		return nil
	}, nil
}

func sameKey(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && bytes.Equal(a.Marshal(), b.Marshal())
}

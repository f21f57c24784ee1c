package vasttest

import (
	"testing"

	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// SSHOptions configures the SSH server of an instance (see StartSSHServers).
type SSHOptions = sshtest.Options

// SSHServer is the SSH server standing in for an instance's sshd.
type SSHServer = sshtest.Server

// StartSSHServers sets the SSH hook: each instance, when it first runs,
// gets its own SSHServer accepting the keys it was created with. opts (may
// be nil) adjusts the server per instance, e.g. by the offer it came from;
// its AuthorizedKeys are added to the instance's.
func (f *Fake) StartSSHServers(t testing.TB, opts func(id string) SSHOptions) {
	hook := func(id string) (string, int, error) {
		var o SSHOptions
		if opts != nil {
			o = opts(id)
		}
		o.AuthorizedKeys = append(o.AuthorizedKeys, f.AuthorizedKeys(id)...)
		if after := f.opts.SSHAfter; after > 0 && o.UpAt.IsZero() {
			in, _ := f.Instance(id)
			o.UpAt = in.CreatedAt().Add(after)
		}
		if o.Home == "" {
			// Each machine is its own computer: what one installs under
			// ~ (scn's agent) is not on the next.
			o.Home = t.TempDir()
		}
		s := sshtest.Start(t, o)
		f.mu.Lock()
		f.servers[id] = s
		f.mu.Unlock()
		return s.Host, s.Port, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts.SSH = hook
}

// SSHServer is the server StartSSHServers started for an instance, or nil.
func (f *Fake) SSHServer(id string) *SSHServer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.servers[id]
}

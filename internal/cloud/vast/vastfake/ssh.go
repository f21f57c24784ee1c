package vastfake

import (
	"context"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote/sshtest"
)

// SSHOptions configures the SSH server of an instance (see StartSSHServers).
type SSHOptions = sshtest.Options

// SSHServer is the SSH server standing in for an instance's sshd.
type SSHServer = sshtest.Server

// StartSSH starts a test SSH server.
//
// Deprecated: use sshtest.Start; kept for callers outside internal/cloud.
func StartSSH(t testing.TB, o SSHOptions) *SSHServer {
	t.Helper()
	return sshtest.Start(t, o)
}

// NewKey returns a fresh ed25519 key.
//
// Deprecated: use sshtest.NewKey; kept for callers outside internal/cloud.
func NewKey(t testing.TB) ssh.Signer {
	t.Helper()
	return sshtest.NewKey(t)
}

// Probe is a WaitOptions.Probe for tests.
//
// Deprecated: use sshtest.Probe; kept for callers outside internal/cloud.
func Probe(signer ssh.Signer, hostKeys ssh.HostKeyCallback) func(ctx context.Context, inst *cloud.Instance) error {
	return sshtest.Probe(signer, hostKeys)
}

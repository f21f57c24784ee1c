package vasttest

import "github.com/scnlabs/scn/internal/remote/sshtest"

// SSHOptions configures the SSH server of an instance (see StartSSHServers).
type SSHOptions = sshtest.Options

// SSHServer is the SSH server standing in for an instance's sshd.
type SSHServer = sshtest.Server

package sshtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/cloud"
)

// NewKey returns a fresh ed25519 key: a client key, or a host key several
// servers share so that a client can pin it with ssh.FixedHostKey.
func NewKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generating an ed25519 key: %v", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("ssh signer: %v", err)
	}
	return s
}

// AuthorizedKey is signer's public key as one authorized_keys line, without
// a comment or a newline.
func AuthorizedKey(signer ssh.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// runTimeout bounds one Run: dial, handshake and command.
const runTimeout = 10 * time.Second

// Run dials the instance's SSH address as its user with signer, checks the
// host key with hostKeys, runs command on one fresh connection and returns
// its stdout. It is a test's own client, independent of the remote package.
func Run(ctx context.Context, inst *cloud.Instance, signer ssh.Signer, hostKeys ssh.HostKeyCallback, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", inst.Addr())
	if err != nil {
		return "", err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	conn, chans, reqs, err := ssh.NewClientConn(c, inst.Addr(), &ssh.ClientConfig{
		User: inst.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hostKeys,
	})
	if err != nil {
		return "", err
	}
	client := ssh.NewClient(conn, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.Output(command)
	return string(out), err
}

// Probe is a cloud.WaitOptions.Probe for tests: Run `echo scn-probe`,
// which must answer scn-probe.
func Probe(signer ssh.Signer, hostKeys ssh.HostKeyCallback) func(ctx context.Context, inst *cloud.Instance) error {
	return func(ctx context.Context, inst *cloud.Instance) error {
		out, err := Run(ctx, inst, signer, hostKeys, "echo scn-probe")
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(out); got != "scn-probe" {
			return fmt.Errorf("probe answered %q", got)
		}
		return nil
	}
}

package sshtest_test

import (
	"context"
	"reflect"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote/sshtest"
)

func instance(s *sshtest.Server, user string) *cloud.Instance {
	return &cloud.Instance{ID: "t", Host: s.Host, Port: s.Port, User: user}
}

func TestServerRunsCommandsForTheKeyAndUserItAccepts(t *testing.T) {
	client, other := sshtest.NewKey(t), sshtest.NewKey(t)
	dir := t.TempDir()
	s := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []string{sshtest.AuthorizedKey(client)}, User: "scn", Dir: dir, DropFirst: 1})
	ctx := context.Background()
	pin := ssh.FixedHostKey(s.HostKey)

	if _, err := sshtest.Run(ctx, instance(s, "scn"), client, pin, "true"); err == nil {
		t.Error("the first connection was not dropped")
	}
	out, err := sshtest.Run(ctx, instance(s, "scn"), client, pin, "pwd")
	if err != nil || out != dir+"\n" {
		t.Errorf("pwd = %q, %v; want the server's folder %s", out, err, dir)
	}
	if err := sshtest.Probe(client, pin)(ctx, instance(s, "scn")); err != nil {
		t.Errorf("probe: %v", err)
	}
	if _, err := sshtest.Run(ctx, instance(s, "root"), client, pin, "true"); err == nil {
		t.Error("another login than Options.User was accepted")
	}
	if _, err := sshtest.Run(ctx, instance(s, "scn"), other, pin, "true"); err == nil {
		t.Error("a key not authorized was accepted")
	}
	if _, err := sshtest.Run(ctx, instance(s, "scn"), client, ssh.FixedHostKey(other.PublicKey()), "true"); err == nil {
		t.Error("the client accepted a host key it was not told to")
	}
	if n := s.Connections(); n != 6 {
		t.Errorf("%d connections, want 6 (every Run dials once)", n)
	}
	if got := s.Execs(); !reflect.DeepEqual(got, []string{"pwd", "echo scn-probe"}) {
		t.Errorf("execs %q", got)
	}

	s.Close()
	if _, err := sshtest.Run(ctx, instance(s, "scn"), client, pin, "true"); err == nil {
		t.Error("a closed server still answers")
	}
	s.Close() // twice is harmless
}

package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/remote"
)

func (s *server) instance(id string) *cloud.Instance {
	return &cloud.Instance{ID: id, Status: cloud.StatusRunning, Host: "127.0.0.1", Port: s.port, User: "tester"}
}

func newPool(t *testing.T, s *server, o remote.Options) *remote.Pool {
	pool := remote.NewPool(s.clientKey.Signer, o)
	t.Cleanup(pool.Close)
	return pool
}

func TestPoolCachesClientsPerInstance(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	pool := newPool(t, s, remote.Options{})
	ctx := context.Background()
	a, err := pool.Client(ctx, s.instance("a"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := pool.Client(ctx, s.instance("a"))
	if err != nil || again != a {
		t.Fatalf("second Client for the same instance: %p (%v), want the cached %p", again, err, a)
	}
	if got, err := remote.Run(ctx, a, "echo hi", nil); err != nil || got != "hi\n" {
		t.Fatalf("pooled client: %q, %v", got, err)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections for one instance, want 1", n)
	}
	pool.Forget("a")
	if _, err := remote.Run(ctx, a, "true", nil); err == nil {
		t.Fatal("a forgotten client still runs commands")
	}
	fresh, err := pool.Client(ctx, s.instance("a"))
	if err != nil || fresh == a {
		t.Fatalf("Client after Forget: %p (%v), want a new client", fresh, err)
	}
}

func TestPoolUsesPublishedHostKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	pool := newPool(t, s, remote.Options{})
	good := s.instance("good")
	good.HostKey = s.hostKey.AuthorizedKey
	if _, err := pool.Client(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	bad := s.instance("bad")
	bad.HostKey = newKey(t).AuthorizedKey
	_, err := pool.Client(context.Background(), bad)
	var changed *remote.HostKeyChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("instance publishing another host key: %v", err)
	}
	if err := pool.Probe(context.Background(), bad); !errors.As(err, &changed) {
		t.Fatalf("probe of an instance publishing another host key: %v", err)
	}
}

func TestProbeOpensAFreshConnectionEachTime(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	pool := newPool(t, s, remote.Options{})
	inst := s.instance("p")
	if _, err := pool.Client(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := pool.Probe(context.Background(), inst); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
	}
	if n := s.accepts.Load(); n != 3 {
		t.Fatalf("server saw %d connections, want 3 (client + one per probe)", n)
	}
}

func TestProbeFailsWhenSSHIsNotUp(t *testing.T) {
	t.Parallel()
	refusing := startServer(t, serverOpts{faults: sandbox.Faults{RefuseSSHFor: time.Hour}})
	pool := newPool(t, refusing, remote.Options{RetryFor: time.Hour})
	if err := pool.Probe(context.Background(), refusing.instance("r")); err == nil {
		t.Fatal("probe of a server that hangs up succeeded")
	}
	if n := refusing.accepts.Load(); n != 1 {
		t.Fatalf("probe made %d attempts, want exactly 1 (WaitReady does the retrying)", n)
	}
	noAddr := &cloud.Instance{ID: "x", Status: cloud.StatusLoading}
	if err := pool.Probe(context.Background(), noAddr); err == nil {
		t.Fatal("probe of an instance without an address succeeded")
	}
}

func TestForgetUnpinsAnAddressReusedByAnotherMachine(t *testing.T) {
	t.Parallel()
	first := startServer(t, serverOpts{})
	pool := newPool(t, first, remote.Options{})
	ctx := context.Background()
	if err := pool.Probe(ctx, first.instance("old")); err != nil {
		t.Fatal(err)
	}
	first.srv.Close()
	// A new machine gets the old one's address (VAST reuses proxy ports).
	second := startServer(t, serverOpts{addr: first.addr, clientKey: first.clientKey})
	var changed *remote.HostKeyChangedError
	if err := pool.Probe(ctx, second.instance("new")); !errors.As(err, &changed) {
		t.Fatalf("new machine on a pinned address, old one not forgotten: %v", err)
	}
	pool.Forget("old")
	if err := pool.Probe(ctx, second.instance("new")); err != nil {
		t.Fatalf("after forgetting the old instance: %v", err)
	}
}

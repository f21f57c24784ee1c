package remote_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud/local/sandbox"
	"github.com/scnlabs/scn/internal/remote"
	"golang.org/x/crypto/ssh"
)

func TestHostKeyChangeIsRefused(t *testing.T) {
	t.Parallel()
	first := startServer(t, serverOpts{})
	pins := remote.NewPins()
	c := dial(t, first, remote.Options{Pins: pins})
	if _, err := remote.Run(context.Background(), c, "true", nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	first.srv.Close()

	// Another machine answers on the same address.
	second := startServer(t, serverOpts{addr: first.addr, clientKey: first.clientKey})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := remote.Dial(ctx, second.endpoint(), remote.Options{Signer: first.clientKey.Signer, Pins: pins, RetryFor: 5 * time.Second})
	var changed *remote.HostKeyChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("dial with a changed host key: %v, want HostKeyChangedError", err)
	}
	oldFP := ssh.FingerprintSHA256(first.hostKey.Signer.PublicKey())
	newFP := ssh.FingerprintSHA256(second.hostKey.Signer.PublicKey())
	want := "host key for " + first.addr + " changed during the run (pinned " + oldFP + ", now " + newFP + "); refusing to connect"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q\ndoes not say %q", err, want)
	}
	if n := second.accepts.Load(); n != 1 {
		t.Fatalf("a changed host key was retried: %d connections, want 1", n)
	}
}

func TestPublishedHostKeyIsEnforced(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	ctx := context.Background()
	// The right published key connects.
	c := dial(t, s, remote.Options{HostKey: s.hostKey.AuthorizedKey})
	if _, err := remote.Run(ctx, c, "true", nil); err != nil {
		t.Fatal(err)
	}
	// A wrong one is refused even on first contact.
	other := newKey(t)
	_, err := remote.Dial(ctx, s.endpoint(), remote.Options{Signer: s.clientKey.Signer, HostKey: other.AuthorizedKey})
	var changed *remote.HostKeyChangedError
	if !errors.As(err, &changed) || !changed.Expected || !strings.Contains(err.Error(), "not the one the provider published") {
		t.Fatalf("dial expecting another host key: %v", err)
	}
}

func TestWrongClientKeyFailsWithoutRetrying(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	retries := 0
	_, err := remote.Dial(context.Background(), s.endpoint(), remote.Options{Signer: newKey(t).Signer,
		RetryFor: time.Minute, RetryDelay: time.Millisecond, OnRetry: func(int, error) { retries++ }})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("dial with an unknown key: %v", err)
	}
	if retries != 0 {
		t.Fatalf("authentication failure retried %d times", retries)
	}
}

func TestDialRetriesUntilServerListens(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	key, hostKey := newKey(t), newKey(t)
	retried := make(chan error, 100)
	type result struct {
		c   *remote.Client
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		c, err := remote.Dial(ctx, remote.Endpoint{Host: "127.0.0.1", Port: port, User: "tester"},
			remote.Options{Signer: key.Signer, RetryFor: 25 * time.Second, RetryDelay: 5 * time.Millisecond,
				OnRetry: func(_ int, err error) {
					select {
					case retried <- err:
					default:
					}
				}})
		done <- result{c, err}
	}()
	select {
	case err := <-retried:
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("first failure: %v, want connection refused", err)
		}
	case <-ctx.Done():
		t.Fatal("no retry reported")
	}
	startServer(t, serverOpts{addr: net.JoinHostPort("127.0.0.1", itoa(port)), clientKey: key, hostKey: hostKey})
	r := <-done
	if r.err != nil {
		t.Fatalf("dial while the server came up: %v", r.err)
	}
	defer r.c.Close()
	if got, err := remote.Run(ctx, r.c, "echo up", nil); err != nil || got != "up\n" {
		t.Fatalf("after retries: %q, %v", got, err)
	}
}

func TestDialWithoutRetryFailsAtOnce(t *testing.T) {
	t.Parallel()
	retries := 0
	_, err := remote.Dial(context.Background(), remote.Endpoint{Host: "127.0.0.1", Port: freePort(t), User: "x"},
		remote.Options{Signer: newKey(t).Signer, OnRetry: func(int, error) { retries++ }})
	if !errors.Is(err, syscall.ECONNREFUSED) || retries != 0 {
		t.Fatalf("single attempt: err %v, %d retries", err, retries)
	}
}

func TestDialRetriesHandshakeCutOff(t *testing.T) {
	t.Parallel()
	// The server takes TCP and hangs up for a while, like sshd not yet
	// started behind a proxy; the attempt count proves retries happened.
	s := startServer(t, serverOpts{faults: sandbox.Faults{RefuseSSHFor: 300 * time.Millisecond}})
	attempts := 0
	c := dial(t, s, remote.Options{RetryFor: 20 * time.Second, RetryDelay: 10 * time.Millisecond,
		OnRetry: func(n int, err error) { attempts = n }})
	if attempts == 0 {
		t.Fatal("dial succeeded without hitting the refusing server")
	}
	if _, err := remote.Run(context.Background(), c, "true", nil); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateKeyRace(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	var starts []interface{ Close() error }
	for range n {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "REMOTE_TEST_KEYDIR="+dir)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs, starts = append(cmds, cmd), append(outs, out), append(starts, w)
	}
	for _, w := range starts {
		w.Close() // go
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v: %s", i, err, outs[i])
		}
	}
	k, err := remote.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, out := range outs {
		if out.String() != k.AuthorizedKey {
			t.Fatalf("helper %d got key %q, want %q", i, out, k.AuthorizedKey)
		}
	}
	if !strings.HasSuffix(k.AuthorizedKey, " scn") || !strings.HasPrefix(k.AuthorizedKey, "ssh-ed25519 ") {
		t.Fatalf("authorized key line %q", k.AuthorizedKey)
	}
	fi, err := os.Stat(k.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key %s: %v, mode %v, want 0600", k.Path, err, fi.Mode())
	}
	pub, err := os.ReadFile(k.Path + ".pub")
	if err != nil || string(pub) != k.AuthorizedKey+"\n" {
		t.Fatalf("public key file: %q, %v", pub, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("key folder holds %d files, want 2 (no temporary files left)", len(entries))
	}
}

package remote_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote"
)

// A machine that is gone must fail its dial after one attempt and one
// question to the provider, not after RetryFor of retries.
func TestDialAsksTheProviderBeforeRetrying(t *testing.T) {
	t.Parallel()
	gone := errors.New("instance 42 failed (gone)")
	rechecks, retries := 0, 0
	_, err := remote.Dial(context.Background(), remote.Endpoint{Host: "127.0.0.1", Port: freePort(t), User: "x"},
		remote.Options{Signer: newKey(t).Signer, RetryFor: time.Hour, RetryDelay: time.Millisecond,
			Recheck: func(context.Context) error { rechecks++; return gone },
			OnRetry: func(int, error) { retries++ }})
	if !errors.Is(err, gone) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a gone machine: %v, want the recheck's error and the dial's cause", err)
	}
	if rechecks != 1 || retries != 0 {
		t.Errorf("%d rechecks, %d retries; want 1 recheck and no retry", rechecks, retries)
	}
}

// A machine the provider still lists is retried as before, and asked about
// only once per dial. The test ends the dial itself after the third retry
// rather than by RetryFor, so how many retries fit in a time on a loaded
// machine does not matter.
func TestDialRetriesWhenTheProviderSaysRunning(t *testing.T) {
	t.Parallel()
	rechecks, retries := 0, 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := remote.Dial(ctx, remote.Endpoint{Host: "127.0.0.1", Port: freePort(t), User: "x"},
		remote.Options{Signer: newKey(t).Signer, RetryFor: time.Hour, RetryDelay: time.Millisecond,
			Recheck: func(context.Context) error { rechecks++; return nil },
			OnRetry: func(int, error) {
				if retries++; retries == 3 {
					cancel()
				}
			}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("dial: %v, want it cancelled while retrying a refused connection", err)
	}
	if rechecks != 1 || retries != 3 {
		t.Errorf("%d rechecks, %d retries; want 1 recheck and the 3 retries after it", rechecks, retries)
	}
}

// A pooled machine that goes away mid-run: the next use redials once,
// the pool asks the provider about that very instance, and the step fails
// with the provider's answer instead of retrying for RetryFor.
func TestPoolAsksTheProviderWhenAMachineStopsAnswering(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{})
	pool := newPool(t, s, remote.Options{RetryFor: time.Hour, RetryDelay: time.Millisecond})
	var asked []string
	pool.SetRecheck(func(_ context.Context, inst *cloud.Instance) error {
		asked = append(asked, inst.ID)
		return &cloud.InstanceFailedError{ID: inst.ID, Status: cloud.StatusGone}
	})
	ctx := context.Background()
	c, err := pool.Client(ctx, s.instance("42"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Run(ctx, c, "true", nil); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 0 {
		t.Fatalf("the provider was asked about a machine that answers: %v", asked)
	}
	s.srv.Close()
	_, err = remote.Run(ctx, c, "true", nil)
	var failed *cloud.InstanceFailedError
	if !errors.As(err, &failed) || failed.Status != cloud.StatusGone {
		t.Fatalf("a command on a machine that went away: %v, want the provider's answer (gone)", err)
	}
	if len(asked) != 1 || asked[0] != "42" {
		t.Errorf("provider asked about %v, want instance 42 once", asked)
	}
}

package standby

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestStopIsIdempotentAndLeavesNoGoroutine(t *testing.T) {
	r := newRig(t)
	gpu, sb, spare := r.machine(t), r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	ignore := goleak.IgnoreCurrent()

	var syncs, checks atomic.Int32
	busy := make(chan struct{}, 1)
	a, err := Start(context.Background(), gpu, sb, Options{SyncInterval: time.Millisecond, CheckInterval: time.Millisecond,
		OnSync: func(Cycle) { syncs.Add(1) },
		OnCheck: func(Health) {
			if checks.Add(1) >= 3 && syncs.Load() >= 3 {
				select {
				case busy <- struct{}{}:
				default:
				}
			}
		}})
	must(t, err)
	select {
	case <-busy: // both loops have run a few rounds, real processes included
	case <-time.After(20 * time.Second):
		t.Fatalf("the loops did not run: %d syncs, %d checks", syncs.Load(), checks.Load())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = a.Stop(ctx) }()
	}
	wg.Wait()
	for _, err := range append(errs, a.Stop(ctx)) {
		if err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	if _, err := a.Sync(ctx, nil); !errors.Is(err, ErrStopped) {
		t.Errorf("Sync after Stop: %v", err)
	}
	if _, err := a.Restore(ctx, spare, nil, nil); !errors.Is(err, ErrStopped) {
		t.Errorf("Restore after Stop: %v", err)
	}
	n := syncs.Load()
	// Nothing of the association is left running; the HTTP client's idle
	// connections to the fake provider are not ours.
	goleak.VerifyNone(t, ignore,
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"))
	if syncs.Load() != n {
		t.Error("a sync ran after Stop returned")
	}
}

func TestStopIsBounded(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	stuck, release := make(chan struct{}, 1), make(chan struct{})
	a, err := Start(context.Background(), gpu, sb, Options{CheckInterval: time.Millisecond, SyncInterval: time.Hour,
		OnCheck: func(Health) {
			select {
			case stuck <- struct{}{}:
			default:
			}
			<-release // a round that never ends
		}})
	must(t, err)
	<-stuck
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Stop(ctx); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("Stop with a stuck loop: %v", err)
	}
	close(release)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if err := a.Stop(ctx2); err != nil {
		t.Errorf("Stop once the loop is free: %v", err)
	}
}

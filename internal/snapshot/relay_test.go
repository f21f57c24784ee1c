package snapshot

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/agentctl"
	"github.com/scnlabs/scn/internal/store"
)

// DeleteRelay removes a standby's leftover increment (what `scn cleanup`
// finds after scn was killed mid-cycle), says so, and is content when there
// is none; an id that would widen its folder is refused.
func TestDeleteRelayRemovesTheLeftoverIncrement(t *testing.T) {
	for name, newStore := range map[string]func(testing.TB) store.Store{"dir": dirStore, "s3": s3Store} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			if _, err := st.Put(ctx, RelayKey("sb-1"), strings.NewReader("tar")); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Put(ctx, RelayKey("sb-2"), strings.NewReader("another standby's")); err != nil {
				t.Fatal(err)
			}
			if gone, err := DeleteRelay(ctx, st, "sb-1"); err != nil || gone {
				t.Fatalf("DeleteRelay = gone %v, %v; want the increment deleted", gone, err)
			}
			if _, err := st.Stat(ctx, RelayKey("sb-1")); !errors.Is(err, store.ErrNotExist) {
				t.Errorf("the increment is still there: %v", err)
			}
			if _, err := st.Stat(ctx, RelayKey("sb-2")); err != nil {
				t.Errorf("another standby's increment went too: %v", err)
			}
			if gone, err := DeleteRelay(ctx, st, "sb-1"); err != nil || !gone {
				t.Errorf("nothing left to delete: gone %v, %v", gone, err)
			}
			for _, bad := range []string{"", ".", "..", "sb-2/..", `a\b`} {
				if _, err := DeleteRelay(ctx, st, bad); err == nil || !strings.Contains(err.Error(), "not an instance id") {
					t.Errorf("DeleteRelay(%q) = %v; want it refused", bad, err)
				}
			}
			if _, err := st.Stat(ctx, RelayKey("sb-2")); err != nil {
				t.Errorf("a refused id deleted another standby's increment: %v", err)
			}
		})
	}
}

// A sync cut short mid-upload (scn SIGKILLed while the GPU's agent sent
// an increment's parts) leaves a multipart upload under the relay key,
// which S3 and B2 keep, and bill, until it is aborted: deleting the relay
// aborts it, along with every version of earlier increments (B2 keeps
// those too), and leaves another standby's upload alone.
func TestDeleteRelayAbortsAnUnfinishedUpload(t *testing.T) {
	ctx := context.Background()
	st, srv := s3StoreAndServer(t)
	p, ok := store.PresignerOf(st)
	if !ok {
		t.Fatal("the S3 store presigns no uploads")
	}
	for range 2 { // two cycles' increments: two versions of the key
		if _, err := st.Put(ctx, RelayKey("sb-1"), strings.NewReader("increment")); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"sb-1", "sb-2"} {
		if _, err := p.CreateUpload(ctx, RelayKey(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := DeleteRelay(ctx, st, "sb-1"); err != nil {
		t.Fatal(err)
	}
	left := srv.Leftovers(t, "")
	for _, l := range left {
		if strings.Contains(l, RelayKey("sb-1")) {
			t.Errorf("deleting the relay left %q (all: %q)", l, left)
		}
	}
	if len(left) != 1 || !strings.Contains(left[0], RelayKey("sb-2")) {
		t.Errorf("left %q; want only sb-2's upload", left)
	}
}

// A relay whose standby cannot reach the store falls back (ErrUnavailable)
// and aborts the upload it started alongside the agents; the next cycles
// start neither agents nor an upload until the standby is due to be tried
// again, and say so.
func TestRelayRemembersAStoreTheMachineCannotReach(t *testing.T) {
	st, srv := untrustedStore(t)
	gpu, sb := newMachine(t), newMachine(t)
	l := gpu.agent
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 0)
	o := RelayOptions{Agent: l, Store: st, Key: RelayKey("sb-1"), Paths: []string{"./"},
		From: RelayEnd{Exec: gpu.x, ID: "gpu-1", Dir: src}, To: RelayEnd{Exec: sb.x, ID: "sb-1", Dir: t.TempDir()}}
	for cycle := 1; cycle <= 3; cycle++ {
		_, err := Relay(testCtx(t), o)
		if !errors.Is(err, agentctl.ErrUnavailable) || !strings.Contains(err.Error(), "on instance sb-1") && !strings.Contains(err.Error(), "on instance gpu-1") ||
			strings.Contains(err.Error(), "tries its agent there again") != (cycle > 1) {
			t.Errorf("cycle %d: %v; want the machines unable to reach the store, remembered after the first", cycle, err)
		}
	}
	if aborted := abortedUploads(srv); aborted != 1 {
		t.Errorf("%d uploads started and aborted; want the first cycle's only", aborted)
	}
	if ups := uploadsLeft(t, srv); len(ups) != 0 {
		t.Errorf("uploads left open: %q", ups)
	}
}

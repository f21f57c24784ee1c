package cleanup

import (
	"context"
	"errors"
	"fmt"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/snapshot"
	"github.com/scnlabs/scn/internal/target"
)

// SnapshotProvider is the provider name the ledger records for snapshots:
// they live in the target's store, under snapshots/<name>/.
const SnapshotProvider = "store"

// Destroy destroys a resource known only by what the ledger recorded about
// it (its kind, provider and id), for `scn cleanup`: an instance or standby
// through the provider of that name (a standby's sync object left in the
// store goes with it), a snapshot from the store. gone is true
// when the resource had already disappeared and nothing was destroyed.
// Destroying something twice is harmless.
func Destroy(ctx context.Context, t *target.Target, kind, provider, id string) (gone bool, err error) {
	switch kind {
	case ledger.KindStandby:
		gone, err := destroyInstance(ctx, t, kind, provider, id)
		if err == nil && t.Store != nil {
			// A sync cut by scn's death leaves its increment in the store.
			if derr := snapshot.DeleteRelay(ctx, t.Store, id); derr != nil {
				return gone, fmt.Errorf("standby %s: deleting its sync object from %s: %w", id, t.Store, derr)
			}
		}
		return gone, err
	case ledger.KindInstance:
		return destroyInstance(ctx, t, kind, provider, id)
	case ledger.KindSnapshot:
		if provider != SnapshotProvider {
			return false, fmt.Errorf("snapshot %s: unknown provider %q (snapshots are in the %q)", id, provider, SnapshotProvider)
		}
		if t.Store == nil {
			return false, fmt.Errorf("target %s has no store to delete snapshot %s from", t.Name, id)
		}
		return snapshot.Delete(ctx, t.Store, id)
	}
	return false, fmt.Errorf("%s %s: unknown kind of resource %q", provider, id, kind)
}

// destroyInstance destroys an instance or standby through its provider.
func destroyInstance(ctx context.Context, t *target.Target, kind, provider, id string) (gone bool, err error) {
	p, ok := t.Provider(provider)
	if !ok || provider == "" {
		return false, fmt.Errorf("target %s has no provider %q for %s %s", t.Name, provider, kind, id)
	}
	// Providers make destroying a missing instance a no-op, so ask first
	// to be able to say "already gone" rather than "destroyed".
	if _, err := p.Get(ctx, id); errors.Is(err, cloud.ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("looking up %s %s on %s: %w", kind, id, provider, err)
	}
	if err := p.Destroy(ctx, id, cloud.ReasonUser); err != nil {
		return false, err // providers name the instance and what failed
	}
	if t.Forget != nil {
		t.Forget(id)
	}
	return false, nil
}

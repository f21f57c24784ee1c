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

// StoreProvider is the provider name the ledger records for what lives in
// the target's store: snapshots (snapshots/<name>/) and standby relays
// (standby-sync/<standby id>/).
const StoreProvider = "store"

// Destroy destroys a resource known only by what the ledger recorded about
// it (its kind, provider and id), for `scn cleanup`: an instance or standby
// through the provider of that name (a standby's sync object left in the
// store goes with it), a snapshot or a standby's relay from the store.
// label is the record's: a provider whose ids are reused (an ssh pool's
// hosts) destroys an instance only while it still carries it. gone is true
// when the resource had already disappeared and nothing was destroyed.
// Destroying something twice is harmless.
func Destroy(ctx context.Context, t *target.Target, kind, provider, id, label string) (gone bool, err error) {
	switch kind {
	case ledger.KindStandby:
		return destroyStandby(ctx, t, provider, id, label, true)
	case ledger.KindInstance:
		return destroyInstance(ctx, t, kind, provider, id, label)
	case ledger.KindSnapshot, ledger.KindRelay:
		if provider != StoreProvider {
			return false, fmt.Errorf("%s %s: unknown provider %q (a %s is in the %q)", kind, id, provider, kind, StoreProvider)
		}
		if t.Store == nil {
			return false, fmt.Errorf("target %s has no store to delete %s %s from", t.Name, kind, id)
		}
		if kind == ledger.KindRelay {
			return snapshot.DeleteRelay(ctx, t.Store, id)
		}
		return snapshot.Delete(ctx, t.Store, id)
	}
	return false, fmt.Errorf("%s %s: unknown kind of resource %q", provider, id, kind)
}

// destroyStandby destroys a standby and, with purgeRelay, what its sync
// left in the store. Ledgers written since relays have records of their own
// (KindRelay) purge the folder through that record, which then says what it
// found; older ledgers have only the standby's, so its destroy purges it.
func destroyStandby(ctx context.Context, t *target.Target, provider, id, label string, purgeRelay bool) (gone bool, err error) {
	gone, err = destroyInstance(ctx, t, ledger.KindStandby, provider, id, label)
	if err == nil && purgeRelay && t.Store != nil {
		// A sync cut by scn's death leaves its increment in the store.
		if _, derr := snapshot.DeleteRelay(ctx, t.Store, id); derr != nil {
			return gone, fmt.Errorf("standby %s: deleting its sync object from %s: %w", id, t.Store, derr)
		}
	}
	return gone, err
}

// destroyInstance destroys an instance or standby through its provider.
func destroyInstance(ctx context.Context, t *target.Target, kind, provider, id, label string) (gone bool, err error) {
	p, ok := t.Provider(provider)
	if !ok || provider == "" {
		return false, fmt.Errorf("target %s has no provider %q for %s %s", t.Name, provider, kind, id)
	}
	if ld, ok := p.(cloud.LabelDestroyer); ok && label != "" {
		// An ssh pool host the record names may be leased by a live run by
		// now (the record's run gave it up with reason failure, then died):
		// that lease is not the record's to release, so the pool checks the
		// label itself, in one step with the release.
		err = ld.DestroyLabelled(ctx, id, label, cloud.ReasonUser)
	} else {
		// Providers make destroying a missing instance a no-op, so ask
		// first to be able to say "already gone" rather than "destroyed".
		if _, err := p.Get(ctx, id); errors.Is(err, cloud.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, fmt.Errorf("looking up %s %s on %s: %w", kind, id, provider, err)
		}
		err = p.Destroy(ctx, id, cloud.ReasonUser)
	}
	switch {
	case errors.Is(err, cloud.ErrNotFound):
		return true, nil
	case err != nil:
		return false, err // providers name the instance and what failed
	}
	if t.Forget != nil {
		t.Forget(id)
	}
	return false, nil
}

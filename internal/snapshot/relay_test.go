package snapshot

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
)

// DeleteRelay removes a standby's leftover increment (what `scn cleanup`
// finds after scn was killed mid-cycle), and is content when there is none.
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
			if err := DeleteRelay(ctx, st, "sb-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Stat(ctx, RelayKey("sb-1")); !errors.Is(err, store.ErrNotExist) {
				t.Errorf("the increment is still there: %v", err)
			}
			if _, err := st.Stat(ctx, RelayKey("sb-2")); err != nil {
				t.Errorf("another standby's increment went too: %v", err)
			}
			if err := DeleteRelay(ctx, st, "sb-1"); err != nil {
				t.Errorf("nothing left to delete: %v", err)
			}
		})
	}
}

package vast_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/cloud/vast"
	"github.com/scnlabs/scn/internal/cloud/vast/vastfake"
)

// The bill ends when VAST accepted the DELETE, not at the later status
// read that no longer shows the instance.
func TestDestroyBilledEndsAtTheAcceptedDelete(t *testing.T) {
	f := vastfake.New(t, vastfake.Options{Offers: rtxOffers, DestroyLag: 3})
	p := newProvider(t, f, func(c *vast.Config) { c.PollInterval = 20 * time.Millisecond })
	ctx := context.Background()
	inst, err := p.Create(ctx, cloud.CreateRequest{Offer: offer("1", 0.4), Label: "scn-r-a"})
	if err != nil {
		t.Fatal(err)
	}
	billedUntil, err := cloud.DestroyBilled(ctx, p, inst.ID, cloud.ReasonUser)
	if err != nil {
		t.Fatal(err)
	}
	del := f.CallsTo(http.MethodDelete, "/api/v0/instances/")
	reads := f.CallsTo(http.MethodGet, "/api/v0/instances/")
	if len(del) != 1 || len(reads) != 4 {
		t.Fatalf("%d DELETEs and %d reads, want 1 and 4 (three still showing it)", len(del), len(reads))
	}
	if billedUntil.Before(del[0].At) || !billedUntil.Before(reads[0].At) {
		t.Errorf("billed until %v: want between the DELETE (%v) and the first confirming read (%v)",
			billedUntil, del[0].At, reads[0].At)
	}
	rec, _ := f.Instance(inst.ID)
	if d := billedUntil.Sub(rec.DeletedAt); d < 0 || d > time.Second {
		t.Errorf("billed until %v, VAST stopped billing at %v", billedUntil, rec.DeletedAt)
	}
	f.AssertAllDestroyed(t)
}

package scenarios_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cleanup"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/ledger"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/store/storetest"
	"github.com/scnlabs/scn/internal/target"
)

// failFirstSync runs the cpu-standby drill against a store whose uploads
// can neither complete nor abort and whose first failPurges purges fail:
// the standby's first sync fails at its end and leaves its upload.
func failFirstSync(t *testing.T, failPurges int32) (*journal.Journal, *target.Target, *s3test.Server, *storetest.StuckUploads) {
	t.Helper()
	const file = "cpu-standby.yaml"
	srv := s3test.StartServer(t, s3test.Options{})
	tgt := openLocalS3(t, srv, "")
	st := &storetest.StuckUploads{Store: tgt.Store, FailPurges: failPurges}
	tgt.Store = st
	j := runOn(t, file, runOptions{vars: drillVars(t, file), target: tgt, timeout: faultRunTimeout})
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "completing: 503") {
		t.Fatalf("run %s: %s; want the first sync failing to complete its upload", j.Status, j.Error)
	}
	return j, tgt, srv, st
}

// relayUndo is the run's undo of the standby's relay folder.
func relayUndo(j *journal.Journal) *journal.Undo {
	for i, u := range j.Cleanup {
		if strings.Contains(u.Description, "sync left in the store") {
			return &j.Cleanup[i]
		}
	}
	return nil
}

// The standby's first sync fails at its end, and so do the abort of its
// upload and the first purge of the relay folder: the folder's undo tries
// again and removes the upload, so nothing stays billed, and the journal
// says it did.
func TestFailedFirstSyncUploadIsRemovedByTheUndo(t *testing.T) {
	j, _, srv, st := failFirstSync(t, 1)
	if u := relayUndo(j); u == nil || u.Status != "done" || st.Purges.Load() != 2 {
		t.Errorf("cleanup %+v, %d purges; want the leftovers removed by their own undo, purged twice", j.Cleanup, st.Purges.Load())
	}
	if left := srv.Leftovers(t, ""); len(left) > 0 {
		t.Errorf("the store still holds:\n%s", strings.Join(left, "\n"))
	}
}

// When every purge fails, the undo too, the relay folder stays open in the
// ledger as a resource of its own (its standby's record is closed: the
// machine is gone), and `scn cleanup` removes the upload once the store
// answers again.
func TestRelayTheRunCouldNotPurgeIsLeftToCleanup(t *testing.T) {
	j, tgt, srv, st := failFirstSync(t, 1<<20)
	if u := relayUndo(j); u == nil || u.Status != "failed" || u.Attempts < 2 {
		t.Fatalf("cleanup %+v; want the relay's undo failed after its retries", j.Cleanup)
	}
	_, open := openLeftovers(t, tgt.StateDir)
	var standbyID, relayState string
	for _, r := range j.Resources {
		switch r.Kind {
		case ledger.KindStandby:
			standbyID = r.ID
		case ledger.KindRelay:
			relayState = r.State
		}
	}
	if relayState != "leaked" {
		t.Errorf("the journal lists the relay as %q; want leaked, so the report sends the user to scn cleanup", relayState)
	}
	if len(open) != 1 || open[0].Kind != ledger.KindRelay || open[0].ID != standbyID || standbyID == "" {
		t.Fatalf("open in the ledger: %+v; want only the relay of standby %q", open, standbyID)
	}
	if len(srv.Leftovers(t, "standby-sync/")) == 0 {
		t.Fatal("the store holds nothing of the relay: the test proves nothing")
	}

	if score := cleanUp(t, tgt, st.Store); score != (cleanup.Score{Destroyed: 1}) {
		t.Errorf("scn cleanup: %+v; want the relay destroyed", score)
	}
	if left := srv.Leftovers(t, ""); len(left) > 0 {
		t.Errorf("after scn cleanup the store still holds:\n%s", strings.Join(left, "\n"))
	}
}

// cleanUp does what `scn cleanup` does after a run on tgt whose cleanup
// failed, with healthy in place of the store that failed it, and checks
// it leaves nothing open in the ledger.
func cleanUp(t *testing.T, tgt *target.Target, healthy store.Store) cleanup.Score {
	t.Helper()
	tgt.Store = healthy
	led, _ := openLeftovers(t, tgt.StateDir)
	left, err := cleanup.Find(led, tgt.StateDir, ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	c := &cleanup.Cleaner{Ledger: led, Timeout: time.Minute,
		Open: func(context.Context, string) (*target.Target, error) { return tgt, nil },
		Report: func(r cleanup.Result) {
			if r.Err != nil {
				t.Errorf("scn cleanup: %s %s: %v", r.Record.Kind, r.ID, r.Err)
			}
		}}
	score := c.Clean(context.Background(), left)
	if _, open := openLeftovers(t, tgt.StateDir); len(open) != 0 {
		t.Errorf("scn cleanup left %+v open", open)
	}
	return score
}

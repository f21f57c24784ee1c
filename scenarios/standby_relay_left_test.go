package scenarios_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
)

// endlessUploads is an S3 store where no upload can be completed or
// aborted, and whose first purge fails too: the store answering 503 at
// the end of every transfer, then once more.
type endlessUploads struct {
	store.Store
	purges atomic.Int32
}

func (e *endlessUploads) Presigner() (store.Presigner, bool) {
	p, ok := store.PresignerOf(e.Store)
	return unendingUploads{p}, ok
}

func (e *endlessUploads) Purger() (store.Purger, bool) {
	p, ok := store.PurgerOf(e.Store)
	return firstPurgeFails{p, e}, ok
}

type unendingUploads struct{ store.Presigner }

func (unendingUploads) CompleteUpload(context.Context, string, string, []store.Part) error {
	return errors.New("completing: 503 Service Unavailable")
}

func (unendingUploads) AbortUpload(context.Context, string, string) error {
	return errors.New("aborting: 503 Service Unavailable")
}

type firstPurgeFails struct {
	store.Purger
	e *endlessUploads
}

func (f firstPurgeFails) Purge(ctx context.Context, prefix string) (int, error) {
	if f.e.purges.Add(1) == 1 {
		return 0, errors.New("purging: 503 Service Unavailable")
	}
	return f.Purger.Purge(ctx, prefix)
}

// The standby's first sync fails at its end, the abort of its upload and
// the purge after it fail too: the run's cleanup removes the upload (an
// undo of its own, with the undo's retries), so nothing stays billed, and
// the journal says it did.
func TestFailedFirstSyncUploadIsRemovedByTheUndo(t *testing.T) {
	const file = "cpu-standby.yaml"
	srv := s3test.StartServer(t, s3test.Options{})
	tgt := openLocalS3(t, srv, "")
	st := &endlessUploads{Store: tgt.Store}
	tgt.Store = st
	j := runOn(t, file, runOptions{vars: drillVars(t, file), target: tgt, timeout: faultRunTimeout})
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "completing: 503") || !strings.Contains(j.Error, "still there") {
		t.Fatalf("run %s: %s; want the first sync failing, its leftovers named", j.Status, j.Error)
	}
	undone := false
	for _, u := range j.Cleanup {
		if strings.Contains(u.Description, "sync left in the store") {
			undone = u.Status == "done"
		}
	}
	if !undone || st.purges.Load() != 2 {
		t.Errorf("cleanup %+v, %d purges; want the leftovers removed by their own undo, purged twice", j.Cleanup, st.purges.Load())
	}
	if left := srv.Leftovers(t, ""); len(left) > 0 {
		t.Errorf("the store still holds:\n%s", strings.Join(left, "\n"))
	}
}

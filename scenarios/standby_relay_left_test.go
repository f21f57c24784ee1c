package scenarios_test

import (
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/store/s3test"
	"github.com/scnlabs/scn/internal/store/storetest"
)

// The standby's first sync fails at its end, the abort of its upload and
// the purge after it fail too: the run's cleanup removes the upload (an
// undo of its own, with the undo's retries), so nothing stays billed, and
// the journal says it did.
func TestFailedFirstSyncUploadIsRemovedByTheUndo(t *testing.T) {
	const file = "cpu-standby.yaml"
	srv := s3test.StartServer(t, s3test.Options{})
	tgt := openLocalS3(t, srv, "")
	st := &storetest.StuckUploads{Store: tgt.Store, FailPurges: 1}
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
	if !undone || st.Purges.Load() != 2 {
		t.Errorf("cleanup %+v, %d purges; want the leftovers removed by their own undo, purged twice", j.Cleanup, st.Purges.Load())
	}
	if left := srv.Leftovers(t, ""); len(left) > 0 {
		t.Errorf("the store still holds:\n%s", strings.Join(left, "\n"))
	}
}

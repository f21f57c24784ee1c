package standby

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/remote"
)

// md5Verify compares md5sum's answers on both machines, file by file.
func md5Verify(fromDir, toDir string) VerifyFunc {
	return func(ctx context.Context, from, to remote.Execer, files []string) error {
		sums := func(x remote.Execer, dir string) (string, error) {
			var b strings.Builder
			for _, f := range files {
				b.WriteString(remote.Quote("./"+f) + " ")
			}
			return remote.Run(ctx, x, "cd -- "+remote.Quote(dir)+" && md5sum -- "+b.String(), nil)
		}
		a, err := sums(from, fromDir)
		if err != nil {
			return err
		}
		b, err := sums(to, toDir)
		if err != nil {
			return err
		}
		if a != b {
			return fmt.Errorf("md5 differ:\n%s\nvs\n%s", a, b)
		}
		return nil
	}
}

func TestRestoreMovesTheCopyOntoANewGPUAndSyncingResumes(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	bigTree(t, gpu.Dir, 20, 32<<10)
	write(t, filepath.Join(gpu.Dir, "odd", "-rf"), "dash")
	must(t, os.Symlink("odd", filepath.Join(gpu.Dir, "link")))
	m := newManual()
	a := start(t, gpu, sb, m.options(Options{FailureThreshold: 1}))
	r.destroy(t, gpu)
	if h := m.check(t); h.State != FailoverActive {
		t.Fatalf("not detected: %+v", h)
	}

	failed := a.Status()
	if failed.Detection <= 0 || failed.DataAtRisk <= 0 {
		t.Fatalf("figures of the failure: %+v", failed)
	}
	gpu2 := r.machine(t)
	gpu2.Dir = filepath.Join(gpu2.Dir, "restored") // created by the restore
	var progress int64
	mv, err := a.Restore(context.Background(), gpu2, md5Verify(sb.Dir, gpu2.Dir), func(n int64) { progress = n })
	must(t, err)
	if mv.GPU != gpu2.Instance.ID || mv.Files != 21 || mv.Entries != 21+4+2 || mv.Bytes < 20*32<<10 || progress != mv.Bytes || mv.Planned {
		t.Errorf("move %+v (progress %d)", mv, progress)
	}
	st := a.Status()
	if mv.MTTR <= 0 || st.MTTR != mv.MTTR || st.RestoredAt.Sub(st.DetectedAt) != mv.MTTR {
		t.Errorf("MTTR %v; status %+v", mv.MTTR, st)
	}
	if st.State != Restored || st.GPU != gpu2.Instance.ID || st.GPUFailures != 0 {
		t.Errorf("after restore: %+v", st)
	}
	sameTree(t, sb.Dir, gpu2.Dir)

	// The association follows the new GPU: health checks pass, syncing resumes.
	if h := m.check(t); !h.GPUChecked || h.GPUProblem != "" || h.State != Restored {
		t.Errorf("check of the new GPU: %+v", h)
	}
	write(t, filepath.Join(gpu2.Dir, "after.txt"), "new work")
	if c := m.sync(t); c.Error != "" || c.GPU != gpu2.Instance.ID || c.Files != 1 {
		t.Errorf("first sync from the new GPU: %+v", c)
	}
	if st := a.Status(); st.State != Syncing || st.RestoredAt.IsZero() || st.Detection != failed.Detection ||
		st.DataAtRisk != failed.DataAtRisk || st.MTTR != mv.MTTR {
		t.Errorf("after the first sync from the new GPU the failure's figures must stay: %+v", st)
	}
	sameTree(t, gpu2.Dir, sb.Dir)
}

func TestRestoreKeepsFollowingNothingWhenTheCopyIsBad(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "model.pt"), "weights")
	m := newManual()
	a := start(t, gpu, sb, m.options(Options{FailureThreshold: 1}))
	r.destroy(t, gpu)
	m.check(t)

	gpu2 := r.machine(t)
	damage := func(ctx context.Context, from, to remote.Execer, files []string) error {
		// The new GPU's disk garbles the file after tar wrote it.
		if _, err := remote.Run(ctx, to, "printf X >> "+remote.Quote(filepath.Join(gpu2.Dir, "model.pt")), nil); err != nil {
			return err
		}
		return md5Verify(sb.Dir, gpu2.Dir)(ctx, from, to, files)
	}
	_, err := a.Restore(context.Background(), gpu2, damage, nil)
	if err == nil || !strings.Contains(err.Error(), "verifying the copy on GPU "+gpu2.Instance.ID) {
		t.Fatalf("restore onto a damaged copy: %v", err)
	}
	if st := a.Status(); st.State != FailoverActive || st.GPU != gpu.Instance.ID {
		t.Errorf("a failed restore must leave the association waiting: %+v", st)
	}
	// A good GPU then works.
	gpu3 := r.machine(t)
	if _, err := a.Restore(context.Background(), gpu3, md5Verify(sb.Dir, gpu3.Dir), nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, sb.Dir, gpu3.Dir)
}

func TestPlannedMoveSyncsTheOldGPUFirst(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	a := start(t, gpu, sb, newManual().options(Options{}))
	write(t, filepath.Join(gpu.Dir, "b.txt"), "written after the last sync")
	gpu2 := r.machine(t)
	mv, err := a.Restore(context.Background(), gpu2, md5Verify(sb.Dir, gpu2.Dir), nil)
	must(t, err)
	if !mv.Planned || mv.MTTR != 0 || mv.Files != 2 {
		t.Errorf("planned move: %+v", mv)
	}
	sameTree(t, gpu.Dir, gpu2.Dir)
}

package standby

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/cloud"
	"github.com/scnlabs/scn/internal/remote"
)

// bigTree fills dir with n incompressible files of size bytes.
func bigTree(t *testing.T, dir string, n, size int) int64 {
	t.Helper()
	buf := make([]byte, size)
	for i := range n {
		_, _ = rand.Read(buf)
		p := filepath.Join(dir, fmt.Sprintf("shard-%d", i%4), fmt.Sprintf("weights-%03d.bin", i))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, buf, 0o644))
	}
	return int64(n * size)
}

func TestIncrementalSyncSendsOnlyWhatChanged(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	total := bigTree(t, gpu.Dir, 60, 64<<10) // 3.75 MiB in 4 folders
	write(t, filepath.Join(gpu.Dir, "notes.txt"), "epoch 1\n")
	m := newManual()
	a := start(t, gpu, sb, m.options(Options{}))

	st := a.Status()
	if st.SyncCount != 1 || st.LastSync.Files != 60+4+1 || st.LastSync.Bytes < total || st.Files != 61 || st.Bytes != total+8 {
		t.Fatalf("first sync: %+v", st)
	}
	sameTree(t, gpu.Dir, sb.Dir)

	// Nothing changed: nothing is sent (mtimes survived the copy).
	c, err := a.Sync(context.Background(), nil)
	must(t, err)
	if c.Files != 0 || c.Bytes != 0 || c.Deleted != 0 || c.Error != "" {
		t.Errorf("idle sync: %+v", c)
	}

	// One small file changes in the big tree: only it travels.
	write(t, filepath.Join(gpu.Dir, "notes.txt"), "epoch 1\nepoch 2\n")
	var progress atomic.Int64
	c, err = a.Sync(context.Background(), func(n int64) { progress.Store(n) })
	must(t, err)
	// A pax archive of one small file: extended header, header, one data
	// block, end blocks, padded to tar's 10 KiB record.
	if c.Files != 1 || c.Bytes != 10240 || progress.Load() != c.Bytes {
		t.Errorf("after changing notes.txt: %+v (progress %d), want 1 file in one 10240-byte tar record", c, progress.Load())
	}
	sameTree(t, gpu.Dir, sb.Dir)
	if st := a.Status(); st.SyncCount != 3 || st.Bytes != total+16 {
		t.Errorf("status after 3 syncs: %+v", st)
	}
}

func TestSyncPropagatesDeletionsRenamesAndTypeChanges(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	for _, n := range oddNames {
		write(t, filepath.Join(gpu.Dir, "odd", n), n)
	}
	write(t, filepath.Join(gpu.Dir, "keep.txt"), "k")
	write(t, filepath.Join(gpu.Dir, "old-name.txt"), "renamed")
	write(t, filepath.Join(gpu.Dir, "ckpt", "a", "1.pt"), "1")
	write(t, filepath.Join(gpu.Dir, "ckpt", "a", "2.pt"), "2")
	write(t, filepath.Join(gpu.Dir, "becomes-dir"), "f")
	must(t, os.Symlink("keep.txt", filepath.Join(gpu.Dir, "latest")))
	m := newManual()
	start(t, gpu, sb, m.options(Options{}))
	sameTree(t, gpu.Dir, sb.Dir)

	must(t, os.Rename(filepath.Join(gpu.Dir, "old-name.txt"), filepath.Join(gpu.Dir, "new name.txt")))
	must(t, os.Rename(filepath.Join(gpu.Dir, "ckpt", "a"), filepath.Join(gpu.Dir, "ckpt", "b")))
	must(t, os.Remove(filepath.Join(gpu.Dir, "odd", "-rf")))
	must(t, os.Remove(filepath.Join(gpu.Dir, "becomes-dir")))
	write(t, filepath.Join(gpu.Dir, "becomes-dir", "inside"), "i")
	must(t, os.Remove(filepath.Join(gpu.Dir, "latest")))
	must(t, os.Symlink("new name.txt", filepath.Join(gpu.Dir, "latest")))
	must(t, os.Chmod(filepath.Join(gpu.Dir, "keep.txt"), 0o600))

	c := m.sync(t) // the background loop this time
	if c.Error != "" {
		t.Fatal(c.Error)
	}
	// Removed: old-name.txt, ckpt/a (with its files), odd/-rf, becomes-dir (a file then).
	// Sent: new name.txt, ckpt/b + 2 files, becomes-dir + inside, latest, keep.txt.
	if c.Deleted != 4 || c.Files != 8 {
		t.Errorf("cycle %+v, want 4 deleted and 8 sent", c)
	}
	sameTree(t, gpu.Dir, sb.Dir)
	if _, err := os.Stat(filepath.Join(filepath.Dir(sb.Dir), "pwned")); err == nil {
		t.Error("a file name was run as a command on the standby")
	}
}

func TestSyncHonoursExcludes(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	for _, n := range []string{"model.pt", ".cache/hf/blob", "src/__pycache__/m.pyc", "out/step.tmp", "logs/train.log", "src/logs/kept.log"} {
		write(t, filepath.Join(gpu.Dir, n), n)
	}
	write(t, filepath.Join(sb.Dir, ".cache", "standby-own"), "left alone")
	a := start(t, gpu, sb, newManual().options(Options{Exclude: append(append([]string{}, DefaultExclude...), "logs/*.log")}))
	got := tree(t, sb.Dir)
	for _, n := range []string{"model.pt", "src/logs/kept.log", "out", "src", ".cache/standby-own"} {
		if _, ok := got[n]; !ok {
			t.Errorf("%s missing on the standby", n)
		}
	}
	for _, n := range []string{".cache/hf", "src/__pycache__", "out/step.tmp", "logs/train.log"} {
		if _, ok := got[n]; ok {
			t.Errorf("%s (excluded) reached the standby", n)
		}
	}
	if st := a.Status(); st.Files != 2 {
		t.Errorf("the standby's copy counts %d files, want 2", st.Files)
	}

	// With no excludes everything goes.
	sb2 := r.machine(t)
	start(t, gpu, sb2, newManual().options(Options{Exclude: []string{}}))
	sameTree(t, gpu.Dir, sb2.Dir)
}

func TestBackgroundLoopKeepsTheStandbyCurrent(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	synced := make(chan Cycle, 100)
	start(t, gpu, sb, Options{SyncInterval: 5 * time.Millisecond, CheckInterval: time.Hour,
		OnSync: func(c Cycle) {
			select {
			case synced <- c:
			default:
			}
		}})
	write(t, filepath.Join(gpu.Dir, "b.txt"), "b")
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-synced:
			if c.Error != "" {
				t.Fatal(c.Error)
			}
			if b, err := os.ReadFile(filepath.Join(sb.Dir, "b.txt")); err == nil && string(b) == "b" {
				return
			}
		case <-deadline:
			t.Fatal("b.txt never reached the standby")
		}
	}
}

// overlapGuard runs commands on a machine and records whether two tar
// streams ever ran on it at once.
type overlapGuard struct {
	x       remote.Execer
	running atomic.Int32
	overlap atomic.Bool
	streams atomic.Int32
}

func (g *overlapGuard) Exec(ctx context.Context, cmd string, in io.Reader, out, errw io.Writer) (int, error) {
	if strings.Contains(cmd, "tar ") {
		if g.running.Add(1) > 1 {
			g.overlap.Store(true)
		}
		g.streams.Add(1)
		defer g.running.Add(-1)
	}
	return g.x.Exec(ctx, cmd, in, out, errw)
}

func TestForcedSyncNeverOverlapsTheLoop(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	guard := &overlapGuard{x: remote.Shell{Dir: gpu.Dir}}
	gpu.Connect = func(context.Context, *cloud.Instance) (remote.Execer, error) { return guard, nil }
	a := start(t, gpu, sb, Options{SyncInterval: time.Millisecond, CheckInterval: time.Hour})
	for i := range 6 {
		write(t, filepath.Join(gpu.Dir, fmt.Sprintf("f%d", i)), strings.Repeat("x", i))
		if _, err := a.Sync(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if guard.overlap.Load() {
		t.Error("two syncs streamed from the GPU at the same time")
	}
	if guard.streams.Load() < 6 {
		t.Errorf("only %d streams for 6 forced syncs", guard.streams.Load())
	}
	sameTree(t, gpu.Dir, sb.Dir)
}

func TestAnEmptiedGPUWorkspaceIsNotMirrored(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "ckpt", "model.pt"), "weights")
	a := start(t, gpu, sb, newManual().options(Options{}))
	must(t, os.RemoveAll(filepath.Join(gpu.Dir, "ckpt"))) // a fresh disk after a restart
	_, err := a.Sync(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "is empty while the standby holds 1 file:") {
		t.Fatalf("sync of an emptied workspace: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(sb.Dir, "ckpt", "model.pt")); err != nil || string(b) != "weights" {
		t.Errorf("the standby's copy must survive: %q %v", b, err)
	}
	if st := a.Status(); st.SyncCount != 1 || !strings.Contains(st.Problem, "last sync failed") {
		t.Errorf("status: %+v", st)
	}
	if ev := a.TakeEvents(); len(ev) != 1 || !strings.Contains(ev[0], "sync from GPU "+gpu.Instance.ID+" failed") {
		t.Errorf("events: %q", ev)
	}
	if ev := a.TakeEvents(); len(ev) != 0 {
		t.Errorf("events are taken once: %q", ev)
	}
}

// FirstSync stays Start's full sync once a background sync has ended: the
// caller reports (and bills) the first sync from it, and the background
// ones as they end, so neither is lost or counted twice.
func TestFirstSyncIsStartsWhateverTheLoopDidSince(t *testing.T) {
	r := newRig(t)
	gpu, sb := r.machine(t), r.machine(t)
	write(t, filepath.Join(gpu.Dir, "a.txt"), "a")
	m := newManual()
	a := start(t, gpu, sb, m.options(Options{}))
	first := a.Status().LastSync
	write(t, filepath.Join(gpu.Dir, "b.txt"), "bb")
	bg := m.sync(t)
	if bg.Error != "" || bg.Files != 1 || bg.Bytes == 0 {
		t.Fatalf("background sync: %+v", bg)
	}
	if got := a.FirstSync(); got != first || got.Files != 1 || a.Status().LastSync == first {
		t.Errorf("first sync %+v after a background one, want Start's %+v (last %+v)", got, first, a.Status().LastSync)
	}
}

package snapshot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3store"
)

func TestRoundTrip(t *testing.T) {
	for name, newStore := range map[string]func(testing.TB) store.Store{"dir": dirStore, "s3": s3Store} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "workspace")
			makeWorkspace(t, src, 101<<20)
			want := snapshotOf(t, src)
			st := newStore(t)

			var progress int64
			m, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "drill-1", Store: st, Source: "42",
				Progress: func(done int64) { progress = done }})
			if err != nil {
				t.Fatal(err)
			}
			if progress != m.BytesRaw || m.BytesRaw < 101<<20 {
				t.Errorf("progress ended at %d, bytes_raw %d", progress, m.BytesRaw)
			}
			if m.Counts != (Counts{Files: 11, Dirs: 22, Symlinks: 3, Hardlinks: 1}) {
				t.Errorf("counts = %+v", m.Counts)
			}
			if m.BytesStored <= 2*s3store.MinPartSize || m.BytesStored >= m.BytesRaw || m.Ratio <= 1 {
				t.Errorf("stored %d of %d raw (ratio %.2f): want a compressed object spanning several parts", m.BytesStored, m.BytesRaw, m.Ratio)
			}
			if m.Source != (Source{Instance: "42", Path: src}) || m.Entries[0].Path != "." {
				t.Errorf("source %+v, first entry %+v", m.Source, m.Entries[0])
			}

			dst := filepath.Join(t.TempDir(), "restored")
			res, err := Restore(testCtx(t), RestoreOptions{Exec: sh, Store: st, Name: "drill-1", Path: dst, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			compareTrees(t, want, snapshotOf(t, dst))
			if res.Files != 11 || res.Verified != 11 || res.Hardlinks != 1 || res.LinksVerified != 1 || len(res.Mismatched) != 0 || len(res.Missing) != 0 || res.BytesFiles != m.BytesFiles || res.BytesStream != m.BytesRaw || res.MBPerSec <= 0 {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

// Restoring over an existing tree merges into its directories and replaces
// same-named entries; unrelated files stay.
func TestRestoreOntoExistingTree(t *testing.T) {
	src := filepath.Join(t.TempDir(), "ws")
	makeWorkspace(t, src, 0)
	st := dirStore(t)
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "s", Store: st}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	writeFile(t, filepath.Join(dst, "models", "unrelated.txt"), []byte("keep me"), 0o644)
	writeFile(t, filepath.Join(dst, "test-file-1.txt"), []byte("stale"), 0o644)
	writeFile(t, filepath.Join(dst, "latest", "was-a-dir.txt"), []byte("replaced by a symlink"), 0o644)
	if _, err := Restore(testCtx(t), RestoreOptions{Exec: sh, Store: st, Name: "s", Path: dst}); err != nil {
		t.Fatal(err)
	}
	want := snapshotOf(t, src)
	got := snapshotOf(t, dst)
	if got["models/unrelated.txt"].Type != "file" {
		t.Error("restore removed an unrelated file")
	}
	delete(got, "models/unrelated.txt")
	compareTrees(t, want, got)
}

func TestCreateExcludes(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "keep.txt"), []byte("k"), 0o644)
	writeFile(t, filepath.Join(src, "cache", "blob"), []byte("c"), 0o644)
	writeFile(t, filepath.Join(src, "sub", "x.tmp"), []byte("t"), 0o644)
	st := dirStore(t)
	m, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "ex", Store: st, Exclude: []string{"./cache", "*.tmp"}})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range m.Entries {
		paths = append(paths, e.Path)
	}
	if got := strings.Join(paths, ","); got != ".,keep.txt,sub" && got != ".,sub,keep.txt" {
		t.Fatalf("entries = %s; want ., keep.txt and sub only", got)
	}
	dst := t.TempDir()
	if _, err := Restore(testCtx(t), RestoreOptions{Exec: sh, Store: st, Name: "ex", Path: dst}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"cache", "sub/x.tmp"} {
		if _, err := os.Lstat(filepath.Join(dst, p)); !os.IsNotExist(err) {
			t.Errorf("excluded %s was restored", p)
		}
	}
}

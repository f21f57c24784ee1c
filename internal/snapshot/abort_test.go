package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cancelling mid-stream stops the remote tar, stores nothing and says why.
func TestCreateCancelledMidStream(t *testing.T) {
	src := t.TempDir()
	bigFile(t, filepath.Join(src, "big.bin"), 24<<20)
	st := dirStore(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	_, err := Create(ctx, CreateOptions{Exec: sh, Path: src, Name: "cut", Store: st,
		Progress: cancelAfter(4<<20, cancel)})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Create = %v; want a cancellation error", err)
	}
	if objs, _ := st.List(testCtx(t), ""); len(objs) != 0 {
		t.Fatalf("a cancelled snapshot left %v", objs)
	}
}

func TestRestoreCancelledMidStreamLeavesTargetEmpty(t *testing.T) {
	src := t.TempDir()
	bigFile(t, filepath.Join(src, "big.bin"), 24<<20)
	st := dirStore(t)
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "s", Store: st}); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	_, err := Restore(ctx, RestoreOptions{Exec: sh, Store: st, Name: "s", Path: target,
		Progress: cancelAfter(4<<20, cancel)})
	if err == nil {
		t.Fatal("a cancelled Restore succeeded")
	}
	assertEmptyDir(t, target)
}

// cancelAfter is a Progress callback that cancels once n bytes went by.
func cancelAfter(n int64, cancel context.CancelFunc) func(int64) {
	return func(done int64) {
		if done >= n {
			cancel()
		}
	}
}

func TestRestoreReportsRemoteFailure(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("f"), 0o644)
	st := dirStore(t)
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "s", Store: st}); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(t.TempDir(), "file")
	writeFile(t, notADir, []byte("x"), 0o644)
	_, err := Restore(testCtx(t), RestoreOptions{Exec: sh, Store: st, Name: "s", Path: filepath.Join(notADir, "ws")})
	if err == nil || !strings.Contains(err.Error(), "remote mkdir/tar exited 1") || !strings.Contains(err.Error(), "Not a directory") {
		t.Fatalf("Restore under a file = %v", err)
	}
	if b, _ := os.ReadFile(notADir); string(b) != "x" {
		t.Fatal("the file in the way was changed")
	}
}

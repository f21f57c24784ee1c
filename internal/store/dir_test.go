package store_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/storetest"
)

func TestDirConformance(t *testing.T) {
	storetest.Conformance(t, func(t *testing.T) store.Store {
		return store.NewDir(filepath.Join(t.TempDir(), "store"))
	}, 3<<20)
}

// A Put in progress is invisible: no key, no listing; it appears whole.
func TestDirPutAppearsOnlyWhenComplete(t *testing.T) {
	root := t.TempDir()
	s := store.NewDir(root)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(storetest.Ctx(t), "snapshots/x/data", pr)
		done <- err
	}()
	if _, err := pw.Write(storetest.RandomBytes(4096, 7)); err != nil { // returns once Put has read it
		t.Fatal(err)
	}
	if _, err := s.Stat(storetest.Ctx(t), "snapshots/x/data"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat during Put = %v; want ErrNotExist", err)
	}
	if objs, err := s.List(storetest.Ctx(t), ""); err != nil || len(objs) != 0 {
		t.Fatalf("List during Put = %v, %v; want nothing", storetest.KeysOf(objs), err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := storetest.MustGet(t, s, "snapshots/x/data"); len(got) != 4096 {
		t.Fatalf("Get = %d bytes", len(got))
	}
	if err := s.Delete(storetest.Ctx(t), "snapshots/x/data"); err != nil {
		t.Fatal(err)
	}
	// Deleting the last object removes the directories it left.
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Fatalf("store root after delete: %v, %v", entries, err)
	}
}

// A Put that fails under a new prefix (a snapshot upload cut off) leaves
// nothing in the store, not even the folders it made.
func TestDirFailedPutLeavesNoFolders(t *testing.T) {
	root := t.TempDir()
	s := store.NewDir(root)
	r := &storetest.FailingReader{Data: storetest.RandomBytes(4096, 3), Err: errors.New("connection lost")}
	if _, err := s.Put(storetest.Ctx(t), "snapshots/cut/data.tar.lz4", r); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Fatalf("store root after a failed Put: %v, %v", entries, err)
	}
}

func TestDirListOfMissingRootIsEmpty(t *testing.T) {
	s := store.NewDir(filepath.Join(t.TempDir(), "never-created"))
	objs, err := s.List(storetest.Ctx(t), "")
	if err != nil || len(objs) != 0 {
		t.Fatalf("List = %v, %v", objs, err)
	}
}

func TestFaultyFailsEveryNth(t *testing.T) {
	f := &store.Faulty{Store: store.NewDir(t.TempDir()), FailEvery: 3}
	var outcomes []bool
	for i := 0; i < 6; i++ {
		_, err := f.Stat(storetest.Ctx(t), "k")
		injected := errors.Is(err, store.ErrInjected)
		if !injected && !errors.Is(err, store.ErrNotExist) {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if injected && err.Error() == "" {
			t.Fatal("empty injected error")
		}
		outcomes = append(outcomes, injected)
	}
	want := []bool{false, false, true, false, false, true}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("injected pattern = %v; want %v", outcomes, want)
		}
	}
	never := &store.Faulty{Store: store.NewDir(t.TempDir())}
	for i := 0; i < 5; i++ {
		if _, err := never.Put(storetest.Ctx(t), "k", strings.NewReader("")); err != nil {
			t.Fatalf("FailEvery 0 failed: %v", err)
		}
	}
}

// Purge removes a killed writer's .scn-put-* temporaries with the objects
// under the prefix, counts them, and leaves no folder behind.
func TestDirPurgeSweepsTemporaries(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	d := store.NewDir(root)
	storetest.MustPut(t, d, "snapshots/a/manifest.json", []byte("{}"))
	storetest.MustPut(t, d, "snapshots/ab/manifest.json", []byte("{}"))
	tmp := filepath.Join(root, "snapshots", "a", ".scn-put-123")
	if err := os.WriteFile(tmp, []byte("half an upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := d.Purge(storetest.Ctx(t), "snapshots/a/")
	if err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want the temporary and the manifest", n, err)
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots", "a")); !os.IsNotExist(err) {
		t.Errorf("the snapshot's folder is still there: %v", err)
	}
	if objs, _ := d.List(storetest.Ctx(t), "snapshots/"); len(objs) != 1 || objs[0].Key != "snapshots/ab/manifest.json" {
		t.Errorf("left %+v; want only snapshot ab", objs)
	}
	if n, err := d.Purge(storetest.Ctx(t), "snapshots/a/"); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want nothing removed", n, err)
	}
}

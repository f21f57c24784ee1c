package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/storetest"
)

// A machine sharing the filesystem writes the object into the reserved
// file; it is invisible until committed, and an aborted one leaves nothing.
func TestDirSharedPutFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "store")
	d := store.NewDir(root)
	sh, ok := store.SharedOf(d)
	if !ok {
		t.Fatal("a directory store is not Shared")
	}
	ctx := storetest.Ctx(t)
	tmp, commit, _, err := sh.PutFile(ctx, "snapshots/a/data")
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(tmp) {
		t.Fatalf("PutFile gave a relative path %q: the machine runs elsewhere", tmp)
	}
	data := storetest.RandomBytes(5000, 3)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if objs, _ := d.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("uncommitted object listed: %v", storetest.KeysOf(objs))
	}
	if n, err := commit(); err != nil || n != int64(len(data)) {
		t.Fatalf("commit = %d, %v", n, err)
	}
	if got := storetest.MustGet(t, d, "snapshots/a/data"); !bytes.Equal(got, data) {
		t.Fatal("committed object differs")
	}
	if p, err := sh.GetFile(ctx, "snapshots/a/data"); err != nil || !strings.HasPrefix(p, root) {
		t.Fatalf("GetFile = %q, %v", p, err)
	}
	if _, err := sh.GetFile(ctx, "snapshots/b/data"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("GetFile of a missing key = %v", err)
	}

	_, _, abort, err := sh.PutFile(ctx, "snapshots/c/data")
	if err != nil {
		t.Fatal(err)
	}
	abort()
	if _, err := os.Stat(filepath.Join(root, "snapshots", "c")); !os.IsNotExist(err) {
		t.Fatalf("an aborted PutFile left its folder: %v", err)
	}

	// A writer that died left its reserved file: DiscardPartial sweeps it.
	left, _, _, err := sh.PutFile(ctx, "snapshots/d/data")
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.DiscardPartial(ctx, "snapshots/d/"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(left)); !os.IsNotExist(err) {
		t.Fatalf("DiscardPartial left %s: %v", filepath.Dir(left), err)
	}
	if got := storetest.MustGet(t, d, "snapshots/a/data"); !bytes.Equal(got, data) {
		t.Fatal("DiscardPartial of another prefix touched a finished object")
	}

	path, token, remove, err := sh.Probe()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != token || len(token) < 16 {
		t.Fatalf("probe file %s holds %q (%v), want %q", path, b, err, token)
	}
	if objs, _ := d.List(ctx, ""); len(objs) != 1 {
		t.Fatalf("the probe file is listed as an object: %v", storetest.KeysOf(objs))
	}
	remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("probe file not removed")
	}
}

// Faulty passes capabilities on and counts their requests with the rest.
func TestFaultyPassesCapabilitiesOn(t *testing.T) {
	f := &store.Faulty{Store: store.NewDir(t.TempDir()), FailEvery: 2}
	if _, ok := store.PresignerOf(f); ok {
		t.Fatal("a faulty directory store claims to presign")
	}
	sh, ok := store.SharedOf(f)
	if !ok {
		t.Fatal("a faulty directory store is not Shared")
	}
	ctx := storetest.Ctx(t)
	if _, err := f.Stat(ctx, "x"); !errors.Is(err, store.ErrNotExist) { // request 1
		t.Fatal(err)
	}
	if _, _, _, err := sh.PutFile(ctx, "x"); !errors.Is(err, store.ErrInjected) { // request 2
		t.Fatalf("PutFile as request 2 of every 2 = %v", err)
	}
	if _, err := sh.GetFile(ctx, "x"); !errors.Is(err, store.ErrNotExist) { // request 3
		t.Fatalf("GetFile = %v", err)
	}
}

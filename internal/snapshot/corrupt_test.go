package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/store"
)

// snapshotForDamage creates a real snapshot of a small tree with some
// incompressible content and returns the store, its data and manifest.
func snapshotForDamage(t *testing.T) (store.Store, []byte, *Manifest) {
	t.Helper()
	src := t.TempDir()
	makeWorkspace(t, src, 0)
	bigFile(t, filepath.Join(src, "data", "mixed.bin"), 5<<20) // random MiB at offset 3
	st := dirStore(t)
	m, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "victim", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return st, readObject(t, st, dataKey("victim")), m
}

func readObject(t *testing.T, st store.Store, key string) []byte {
	t.Helper()
	rc, err := st.Get(testCtx(t), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putObject(t *testing.T, st store.Store, key string, b []byte) {
	t.Helper()
	if _, err := st.Put(testCtx(t), key, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func putManifest(t *testing.T, st store.Store, m *Manifest) {
	t.Helper()
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, st, manifestKey(m.Name), js)
}

// restoreMustFail restores into an empty directory, through scn and
// through the agent on mc, and checks the error and that the directory
// stayed empty: a damaged snapshot is refused the same either way.
func restoreMustFail(t *testing.T, mc *machine, st store.Store, want ...string) {
	t.Helper()
	for _, o := range []RestoreOptions{{Exec: sh}, {Exec: mc.x, Agent: mc.agent,
		Notice: func(s string) { t.Errorf("the agent was not used: %s", s) }}} {
		target := t.TempDir()
		o.Store, o.Name, o.Path, o.Verify = st, "victim", target, true
		res, err := Restore(testCtx(t), o)
		if err == nil {
			t.Fatalf("Restore (agent %v) of a damaged snapshot succeeded: %+v", o.Agent != nil, res)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Restore (agent %v) error %q does not mention %q", o.Agent != nil, err, w)
			}
		}
		assertEmptyDir(t, target)
	}
}

func TestRestoreFailsOnFlippedBytes(t *testing.T) {
	mc := newMachine(t)
	st, data, _ := snapshotForDamage(t)
	// Offsets across the object: frame header, first blocks, the random
	// MiB, the last block and the content checksum at the very end.
	for _, off := range []int{4, 7, 20, 600, len(data) / 4, len(data) / 2, 3 * len(data) / 4, len(data) - 9, len(data) - 3, len(data) - 1} {
		bad := append([]byte(nil), data...)
		bad[off] ^= 0x20
		putObject(t, st, dataKey("victim"), bad)
		t.Run("offset", func(t *testing.T) { restoreMustFail(t, mc, st, `snapshot "victim"`) })
	}
}

func TestRestoreFailsOnTruncation(t *testing.T) {
	mc := newMachine(t)
	st, data, m := snapshotForDamage(t)
	putObject(t, st, dataKey("victim"), data[:len(data)-1000])
	restoreMustFail(t, mc, st, "truncated or replaced")

	// Even with a manifest "fixed" to the new size, the stream notices.
	for _, n := range []int{len(data) - 1, len(data) - 5000, len(data) / 2, 11} {
		putObject(t, st, dataKey("victim"), data[:n])
		m.BytesStored = int64(n)
		putManifest(t, st, m)
		restoreMustFail(t, mc, st, `snapshot "victim"`)
	}
}

func TestRestoreFailsWithoutManifest(t *testing.T) {
	mc := newMachine(t)
	st, _, _ := snapshotForDamage(t)
	if err := st.Delete(testCtx(t), manifestKey("victim")); err != nil {
		t.Fatal(err)
	}
	restoreMustFail(t, mc, st, `snapshot "victim" not found`, "snapshots/victim/manifest.json")
	_, err := ReadManifest(testCtx(t), st, "victim")
	if !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("ReadManifest = %v; want ErrNotExist", err)
	}
}

func TestRestoreFailsOnTamperedManifest(t *testing.T) {
	mc := newMachine(t)
	st, _, m := snapshotForDamage(t)
	for i, e := range m.Entries {
		if e.Path == "data/mixed.bin" {
			m.Entries[i].MD5 = strings.Repeat("0", 32)
		}
	}
	putManifest(t, st, m)
	restoreMustFail(t, mc, st, `entry "data/mixed.bin": content md5`, "does not match the manifest")

	putObject(t, st, manifestKey("victim"), []byte(`{"format_version": 1, "name": "victim", "entries": [`))
	restoreMustFail(t, mc, st, "not valid manifest JSON")
}

// Verify reports files changed or removed on the instance after a restore.
func TestVerifyReportsMismatchedAndMissing(t *testing.T) {
	src := t.TempDir()
	makeWorkspace(t, src, 0)
	st := dirStore(t)
	m, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "v", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if _, err := Restore(testCtx(t), RestoreOptions{Exec: sh, Store: st, Name: "v", Path: dst}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dst, "odd", "new\nline.txt"), []byte("changed"), 0o644)
	if err := os.Remove(filepath.Join(dst, "données", "résumé été.txt")); err != nil {
		t.Fatal(err)
	}
	res := &RestoreResult{}
	if err := verify(testCtx(t), sh, dst, m, res); err != nil {
		t.Fatal(err)
	}
	if res.Verified != 8 || res.LinksVerified != 1 || strings.Join(res.Mismatched, "|") != "odd/new\nline.txt" || strings.Join(res.Missing, "|") != "données/résumé été.txt" {
		t.Fatalf("verify = %d verified, %d links, mismatched %q, missing %q", res.Verified, res.LinksVerified, res.Mismatched, res.Missing)
	}
}

func TestListAndDelete(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("f"), 0o644)
	st := dirStore(t)
	for _, name := range []string{"drill-b", "drill-a", "other"} {
		if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: name, Store: st}); err != nil {
			t.Fatal(err)
		}
	}
	putObject(t, st, dataKey("orphan"), []byte("data without a manifest")) // not a snapshot
	infos, err := List(testCtx(t), st, "drill-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Name != "drill-a" || infos[1].Name != "drill-b" || infos[0].Files != 1 || infos[0].Bytes != 1 || infos[0].StoredBytes == 0 || infos[0].CreatedAt.IsZero() {
		t.Fatalf("List(drill-*) = %+v", infos)
	}
	if all, err := List(testCtx(t), st, ""); err != nil || len(all) != 3 {
		t.Fatalf("List() = %+v, %v; want the 3 snapshots with manifests", all, err)
	}
	if _, err := List(testCtx(t), st, "[bad"); err == nil {
		t.Fatal("List with a malformed pattern succeeded")
	}
	if _, err := Delete(testCtx(t), st, "drill-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := Delete(testCtx(t), st, "drill-a"); err != nil {
		t.Fatalf("deleting a deleted snapshot = %v", err)
	}
	objs, _ := st.List(testCtx(t), "snapshots/drill-a/")
	if len(objs) != 0 {
		t.Fatalf("Delete left %v", objs)
	}
	if infos, _ := List(testCtx(t), st, "*"); len(infos) != 2 {
		t.Fatalf("List after Delete = %+v", infos)
	}
}

// On a versioned bucket (B2 keeps every version) deleting a snapshot
// leaves no version, delete marker or unfinished upload of it, and a
// second delete finds nothing.
func TestDeleteLeavesNothingBilledInAVersionedBucket(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("f"), 0o644)
	st, srv := s3StoreAndServer(t)
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "kept", Store: st}); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "v", Store: st}); err != nil {
		t.Fatal(err)
	}
	putObject(t, st, dataKey("v"), []byte("a second version of the data")) // an older version stays behind it
	p, _ := store.PresignerOf(st)
	if _, err := p.CreateUpload(testCtx(t), dataKey("v")); err != nil { // what a killed writer leaves
		t.Fatal(err)
	}
	if got := srv.Leftovers(t, "drills/snapshots/v/"); len(got) != 4 {
		t.Fatalf("before the delete the bucket holds %q; want 3 versions and an upload", got)
	}
	if gone, err := Delete(testCtx(t), st, "v"); err != nil || gone {
		t.Fatalf("Delete = gone %v, %v; want deleted", gone, err)
	}
	if got := srv.Leftovers(t, "drills/snapshots/v/"); len(got) != 0 {
		t.Fatalf("deleting snapshot v left %q in the bucket", got)
	}
	if got := srv.Leftovers(t, "drills/snapshots/kept/"); len(got) != 2 {
		t.Fatalf("deleting v touched snapshot kept: %q", got)
	}
	if gone, err := Delete(testCtx(t), st, "v"); err != nil || !gone {
		t.Fatalf("second Delete = gone %v, %v; want already gone", gone, err)
	}
}

package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// noTemps fails if a temporary file was left in dir.
func noTemps(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestWriteFileReplacesWithExactMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	for i, c := range []struct {
		data string
		perm fs.FileMode
	}{{"old\n", 0o644}, {"new content\n", 0o600}} {
		if err := WriteFile(p, []byte(c.data), c.perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != c.data {
			t.Fatalf("write %d: read %q, %v; want %q", i, got, err, c.data)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != c.perm {
			t.Errorf("write %d: mode %v, want %v (umask must not apply)", i, fi.Mode().Perm(), c.perm)
		}
	}
	noTemps(t, dir)
}

func TestCreateRefusesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "host.lease")
	if err := Create(p, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Create(p, []byte("second"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Create = %v; want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "first" {
		t.Fatalf("content %q after a refused Create", got)
	}
	noTemps(t, dir)
}

func TestCreateHasExactlyOneWinner(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = Create(p, bytes.Repeat([]byte{byte('a' + i)}, 4096), 0o600) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("creators %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, fs.ErrExist):
			t.Fatalf("creator %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("nobody won")
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + won)}, 4096)) {
		t.Fatalf("the file is not the winner's content whole")
	}
	noTemps(t, dir)
}

func TestPendingAppearsOnlyOnCommit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data.tar.lz4")
	w, err := New(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("part")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the file is visible before Commit: %v", err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	w.Abort() // after Commit: nothing to do
	if got, _ := os.ReadFile(p); string(got) != "part" {
		t.Fatalf("read %q", got)
	}
	if err := w.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}

	w, err = New(p, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("discarded"))
	w.Abort()
	if got, _ := os.ReadFile(p); string(got) != "part" {
		t.Fatalf("Abort changed the file: %q", got)
	}
	noTemps(t, dir)
}

func TestFailedCommitLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "taken")
	// A non-empty directory cannot be replaced by a file.
	if err := os.MkdirAll(filepath.Join(p, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("x"), 0o644); err == nil {
		t.Fatal("replacing a directory succeeded")
	}
	noTemps(t, dir)
	if err := WriteFile(filepath.Join(dir, "missing", "f"), []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("writing into a missing directory = %v; want fs.ErrNotExist", err)
	}
}

// A reader racing a writer sees one whole version or the other, never a
// mix or a truncated file.
func TestReadersNeverSeePartialContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "journal.json")
	versions := [][]byte{bytes.Repeat([]byte("a"), 64<<10), bytes.Repeat([]byte("b"), 96<<10)}
	if err := WriteFile(p, versions[0], 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		var err error
		for i := 0; i < 100 && err == nil; i++ {
			err = WriteFile(p, versions[i%2], 0o644)
		}
		done <- err
	}()
	for reads := 0; ; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		if !bytes.Equal(got, versions[0]) && !bytes.Equal(got, versions[1]) {
			t.Fatalf("read %d: %d bytes that are neither version", reads, len(got))
		}
	}
}

func TestWriteFileInStaysUnderRoot(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for i, data := range []string{"old\n", "new\n"} {
		if err := WriteFileIn(root, "list.json", []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "list.json"))
		fi, _ := os.Stat(filepath.Join(dir, "list.json"))
		if err != nil || string(got) != data || fi.Mode().Perm() != 0o640 {
			t.Fatalf("write %d: %q %v %v", i, got, err, fi.Mode())
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../escaped", "out/escaped"} {
		if err := WriteFileIn(root, name, []byte("x"), 0o600); err == nil {
			t.Errorf("%s written out of the root", name)
		}
	}
	noTemps(t, dir)
	noTemps(t, outside)
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("written outside the root: %v", entries)
	}
}

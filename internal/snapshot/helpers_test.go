package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/remote"
	"github.com/scnlabs/scn/internal/store"
	"github.com/scnlabs/scn/internal/store/s3test"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var sh = remote.Shell{}

func dirStore(t testing.TB) store.Store { return store.NewDir(filepath.Join(t.TempDir(), "store")) }

func s3Store(t testing.TB) store.Store {
	s, _ := s3StoreAndServer(t)
	return s
}

// s3StoreAndServer is s3Store with its server, for tests that inject faults.
func s3StoreAndServer(t testing.TB) (store.Store, *s3test.Server) {
	srv := s3test.StartServer(t, s3test.Options{})
	return srv.Store(t, "drills"), srv
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode passes through umask
		t.Fatal(err)
	}
}

// bigFile writes size bytes: mostly a repeating pattern (LZ4 crushes it),
// with one random MiB in every eight so the stored object still spans
// several S3 parts.
func bigFile(t testing.TB, path string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{42})
	pattern := make([]byte, 1<<20)
	for i := range pattern {
		pattern[i] = byte(i * 7 / 3)
	}
	random := make([]byte, 1<<20)
	for written, i := int64(0), 0; written < size; i++ {
		chunk := pattern
		if i%8 == 3 {
			rng.Read(random)
			chunk = random
		}
		chunk = chunk[:min(int64(len(chunk)), size-written)]
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		written += int64(len(chunk))
	}
}

// makeWorkspace builds the tree every round trip must preserve.
func makeWorkspace(t testing.TB, root string, bigSize int64) {
	t.Helper()
	writeFile(t, filepath.Join(root, "test-file-1.txt"), []byte("Test file #1\nCreated at: now\n"), 0o644)
	writeFile(t, filepath.Join(root, "models", "checkpoints", "step-100", "weights.bin"), []byte("weights"), 0o600)
	writeFile(t, filepath.Join(root, "bin", "train.sh"), []byte("#!/bin/sh\necho train\n"), 0o755)
	writeFile(t, filepath.Join(root, "données", "résumé été.txt"), []byte("unicode ✓"), 0o644)
	writeFile(t, filepath.Join(root, "with space", "a file with spaces.txt"), []byte("spaces"), 0o640)
	writeFile(t, filepath.Join(root, "odd", "new\nline.txt"), []byte("newline in name"), 0o644)
	writeFile(t, filepath.Join(root, "odd", `back\slash.txt`), []byte("backslash in name"), 0o644)
	writeFile(t, filepath.Join(root, "odd", "-dash.txt"), []byte("leading dash"), 0o644)
	writeFile(t, filepath.Join(root, "empty.bin"), nil, 0o644)
	long := filepath.Join(root, "deep", strings.Repeat("a-long-directory-name/", 8), strings.Repeat("long-file-name-", 12)+".txt")
	writeFile(t, long, []byte("a path longer than ustar's 100+155 bytes"), 0o644)
	for _, d := range []string{"empty-dir", "nested/empty/deeper"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "empty-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"latest":                     "models/checkpoints/step-100",
		"models/current-weights.bin": "checkpoints/step-100/weights.bin",
		"bin/dangling":               "../not-there-yet",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(root, "test-file-1.txt"), filepath.Join(root, "hardlink-to-test-file-1.txt")); err != nil {
		t.Fatal(err)
	}
	if bigSize > 0 {
		bigFile(t, filepath.Join(root, "data", "big.bin"), bigSize)
	}
}

type node struct {
	Type  string
	Mode  fs.FileMode
	Size  int64
	Hash  string
	Link  string
	MTime int64
	// Nlink is a file's number of hard links: a hard link restored as a
	// copy shows as 1 where the source had 2.
	Nlink uint64
}

// snapshotOf describes a tree: type, permission bits, size, content hash,
// link target and (for files) mtime of every entry, root included.
func snapshotOf(t testing.TB, root string) map[string]node {
	t.Helper()
	tree := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := node{Mode: fi.Mode().Perm()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Type = "symlink"
			n.Link, err = os.Readlink(p)
		case fi.IsDir():
			n.Type = "dir"
		default:
			n.Type, n.Size, n.MTime = "file", fi.Size(), fi.ModTime().Unix()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n.Nlink = uint64(st.Nlink)
			}
			n.Hash, err = hashFile(p)
		}
		tree[rel] = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func compareTrees(t testing.TB, want, got map[string]node) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("missing after restore: %q", p)
		} else if g != w {
			t.Errorf("%q differs after restore:\n got %+v\nwant %+v", p, g, w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected after restore: %q", p)
		}
	}
}

func assertEmptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s should be empty but has %q", dir, e.Name())
	}
}

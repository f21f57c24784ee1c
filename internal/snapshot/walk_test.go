package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// oddWorkspace is a workspace with every kind of entry and name the
// agent's tar writer must write as GNU tar does: names with spaces,
// quotes, backslashes, a newline, bytes that are not UTF-8 and more than
// 100 bytes; modes with setgid; hard links, symlinks, empty directories;
// and what the excludes leave out.
func oddWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	long := strings.Repeat("deep-directory-name/", 6) + strings.Repeat("x", 120) + ".bin"
	files := map[string]string{
		"run.sh": "#!/bin/sh\necho hi\n", "a b.txt": "spaces", `q"uote`: "q", `back\slash`: "b", "nl\nname": "n",
		"caf\xe9-latin1": "not UTF-8", "ütf-8.txt": "u", "w??=x": "trigraph", long: strings.Repeat("long ", 1000),
		"empty": "", "data/big.bin": strings.Repeat("0123456789abcdef", 40000),
		"cache/skip.tmp": "excluded", "logs/keep.log": "kept", "logs/drop.tmp": "excluded", "tmp/x": "excluded dir",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), []byte(content), 0o644)
	}
	for _, d := range []string{"empty-dir", "cache/also-empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o2755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a b.txt", filepath.Join(dir, "link-to-a")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", filepath.Join(dir, "data", "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"hard-1", "data/hard-2"} {
		if err := os.Link(filepath.Join(dir, "data/big.bin"), filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2024, 2, 29, 12, 0, 0, 123456789, time.UTC) // sub-second: tar keeps seconds
	if err := os.Chtimes(filepath.Join(dir, "logs/keep.log"), old, old); err != nil {
		t.Fatal(err)
	}
	return dir
}

// archiveEntry is what a tar stream says about one entry.
type archiveEntry struct {
	Name, Linkname, Uname, Gname string
	Typeflag                     byte
	Mode, Size                   int64
	Uid, Gid                     int
	ModTime                      time.Time
	Content                      string
}

func readArchive(t *testing.T, r io.Reader) []archiveEntry {
	t.Helper()
	var out []archiveEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, archiveEntry{Name: h.Name, Linkname: h.Linkname, Uname: h.Uname, Gname: h.Gname, Typeflag: h.Typeflag,
			Mode: h.Mode, Size: h.Size, Uid: h.Uid, Gid: h.Gid, ModTime: h.ModTime.UTC(), Content: string(b)})
	}
}

// The agent's stream holds exactly what GNU tar's holds for the same
// workspace and excludes: the same entries in the same order, with the
// same types, names, links, modes, owners, sizes, times and contents.
// GNU tar itself is the reference.
func TestWalkTarWritesWhatGNUTarWrites(t *testing.T) {
	if localTar() != gnuTar {
		t.Fatalf("this machine's tar is not GNU tar (%q): scripts/deps installs it", localTar())
	}
	dir := oddWorkspace(t)
	for _, exclude := range [][]string{nil, {"*.tmp", "./tmp", "cache/also-empty"}, {"logs", "data/hard-2"}} {
		t.Run(strings.Join(exclude, ","), func(t *testing.T) {
			var want bytes.Buffer
			args := []string{"-C", dir}
			for _, p := range exclude {
				args = append(args, "--exclude="+p)
			}
			cmd := exec.Command("tar", append(args, "-cf", "-", ".")...)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &want, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("GNU tar: %v\n%s", err, &stderr)
			}
			var got bytes.Buffer
			if err := walkTar(dir, exclude)(context.Background(), &got); err != nil {
				t.Fatal(err)
			}
			w, g := readArchive(t, &want), readArchive(t, &got)
			if len(w) < 5 {
				t.Fatalf("GNU tar archived only %d entries: the workspace is not what the test means", len(w))
			}
			for i := range max(len(w), len(g)) {
				switch {
				case i >= len(g):
					t.Errorf("entry %d: GNU tar has %q, the agent's stream has nothing", i, w[i].Name)
				case i >= len(w):
					t.Errorf("entry %d: the agent's stream has %q, GNU tar has nothing", i, g[i].Name)
				case g[i] != w[i]:
					t.Errorf("entry %d:\n agent %+v\n   tar %+v", i, short(g[i]), short(w[i]))
				}
			}
		})
	}
}

func short(e archiveEntry) archiveEntry {
	if len(e.Content) > 40 {
		e.Content = e.Content[:40] + "…"
	}
	return e
}

// A workspace entry GNU tar listed but that vanished before the writer
// read it fails the stream with an error that names it.
func TestWalkTarNamesAVanishedEntry(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a"), []byte("a"), 0o644)
	tw := &tarWriter{tw: tar.NewWriter(io.Discard), dir: dir, links: map[[2]uint64]string{}}
	err := tw.each(context.Background(), strings.NewReader("\"./a\"\n\"./gone\"\n"))
	var we *walkError
	if !errors.As(err, &we) || we.name != "./gone" || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("err = %v; want the vanished ./gone named", err)
	}
}

// hookWriter calls hook before its first write.
type hookWriter struct {
	w    io.Writer
	hook func()
}

func (h *hookWriter) Write(p []byte) (int, error) {
	if h.hook != nil {
		h.hook()
		h.hook = nil
	}
	return h.w.Write(p)
}

// A file that shrinks between its header and its content (a process
// still writing the workspace) fails the stream, as GNU tar exits 1 on
// "file changed as we read it": never a snapshot with a torn file.
func TestWalkTarRefusesAFileThatChangesWhileRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.bin")
	writeFile(t, p, bytes.Repeat([]byte("w"), 1<<20), 0o644)
	w := &hookWriter{w: io.Discard, hook: func() {
		if err := os.Truncate(p, 1000); err != nil {
			t.Error(err)
		}
	}}
	tw := &tarWriter{tw: tar.NewWriter(w), dir: dir, links: map[[2]uint64]string{}}
	err := tw.each(context.Background(), strings.NewReader("\"./model.bin\"\n"))
	if err == nil || !strings.Contains(err.Error(), `"./model.bin"`) || !strings.Contains(err.Error(), "changed as we read it") {
		t.Fatalf("err = %v; want the changed file named", err)
	}
}

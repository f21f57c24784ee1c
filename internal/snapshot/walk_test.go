package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/lz4frame"
)

// oddWorkspace is a workspace with every kind of entry and name the
// agent's tar writer must write as GNU tar does: names with spaces,
// quotes, backslashes, a newline, UTF-8 and more than 100 bytes; modes
// with setgid; hard links, symlinks, empty directories; and what the
// excludes leave out.
func oddWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	long := strings.Repeat("deep-directory-name/", 6) + strings.Repeat("x", 120) + ".bin"
	files := map[string]string{
		"run.sh": "#!/bin/sh\necho hi\n", "a b.txt": "spaces", `q"uote`: "q", `back\slash`: "b", "nl\nname": "n",
		"ütf-8.txt": "u", "w??=x": "trigraph", long: strings.Repeat("long ", 1000),
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
			walked, n := walk(t, dir, exclude, HashXXH3, &got)
			if n != int64(got.Len()) {
				t.Errorf("the walker says it wrote %d bytes; it wrote %d", n, got.Len())
			}
			// What it recorded as it wrote is what the recorder finds
			// reading its stream back, as it reads a tar process's.
			parsed, err := record(bytes.NewReader(got.Bytes()), io.Discard, HashXXH3, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(walked, parsed) {
				t.Errorf("the walker recorded\n %+v\nreading its stream back records\n %+v", walked, parsed)
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

// walk runs the walker on dir into w and returns what it recorded and
// the size it says it wrote.
func walk(t *testing.T, dir string, exclude []string, alg string, w io.Writer) (*recording, int64) {
	t.Helper()
	rec, err := newRecorder(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := walkTar(dir, exclude)(context.Background(), w, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rec.finish(n)
	if err != nil {
		t.Fatal(err)
	}
	return r, n
}

func newTestRecorder(t *testing.T) *recorder {
	t.Helper()
	r, err := newRecorder(HashXXH3, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
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
	tw := newTarWriter(io.Discard, dir, newTestRecorder(t), nil)
	err := tw.each(context.Background(), strings.NewReader("\"./a\"\n\"./gone\"\n"))
	var we *walkError
	if !errors.As(err, &we) || we.name != "./gone" || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("err = %v; want the vanished ./gone named", err)
	}
}

// The entries are handed on in archive order, in batches of at most
// entriesBatch, the last before Archive returns — by the walker and by
// the recorder reading a tar process's stream alike — and together they
// are the manifest's entries.
func TestArchiveHandsTheEntriesOnInBatches(t *testing.T) {
	dir := t.TempDir()
	for i := range 2*entriesBatch + 300 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("d%d/f%04d", i%7, i)), []byte{byte(i)}, 0o644)
	}
	put := func(_ context.Context, r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }
	whole, err := Archive(testCtx(t), ArchiveOptions{Path: dir, Hash: HashXXH3, Put: put})
	if err != nil {
		t.Fatal(err)
	}
	var heard []Entry
	batches := 0
	batch := func(b []Entry) {
		if len(b) == 0 || len(b) > entriesBatch {
			t.Errorf("a batch of %d entries", len(b))
		}
		heard = append(heard, b...)
		batches++
	}
	// What went to batch is not kept as well: the agent's memory does not
	// grow with the workspace's entries.
	m, err := Archive(testCtx(t), ArchiveOptions{Path: dir, Hash: HashXXH3, Put: put, Entries: batch})
	if err != nil {
		t.Fatal(err)
	}
	if batches < 3 || !reflect.DeepEqual(heard, whole.Entries) || len(m.Entries) != 0 {
		t.Fatalf("heard %d entries in %d batches and the manifest kept %d; want the %d of the whole, in batches, and none kept",
			len(heard), batches, len(m.Entries), len(whole.Entries))
	}

	heard, batches = nil, 0
	rec, _, err := archive(testCtx(t), execTar(sh, tarCommand(dir, nil, "")), HashXXH3, batch, put, nil)
	if err != nil {
		t.Fatal(err)
	}
	if batches < 3 || !reflect.DeepEqual(heard, whole.Entries) || len(rec.entries) != 0 {
		t.Fatalf("through tar: heard %d entries in %d batches and the recording kept %d; want the %d of the whole, in batches, and none kept",
			len(heard), batches, len(rec.entries), len(whole.Entries))
	}
}

// A name a restore would refuse (bytes that are not UTF-8) stops the
// walker before a byte of it is written, with the recorder's refusal: GNU
// tar's quoted listing brought the name back exactly (the file was found).
func TestWalkTarRefusesBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a"), []byte("a"), 0o644)
	writeFile(t, filepath.Join(dir, "caf\xe9-latin1"), []byte("not UTF-8"), 0o644)
	var out bytes.Buffer
	_, err := walkTar(dir, nil)(context.Background(), &out, newTestRecorder(t), nil)
	var ref *refusal
	if !errors.As(err, &ref) || ref.name != "./caf\xe9-latin1" || !strings.Contains(err.Error(), "not valid UTF-8; a restore would refuse it, so exclude it") {
		t.Fatalf("err = %v; want the non-UTF-8 name refused", err)
	}
	if bytes.Contains(out.Bytes(), []byte("caf\xe9")) {
		t.Error("the refused entry's header was written")
	}
}

// When the output fails (the store gave up), the walker stops with the
// output's error as it is, not as a workspace entry it could not read;
// its progress never passed what it wrote, and said so last.
func TestWalkTarBlamesTheOutputNotTheEntry(t *testing.T) {
	dir := t.TempDir()
	// 8 MiB, one in eight of them random: the output fails in the fourth
	// 1 MiB block, and with one block compressing and one filling, the
	// walker's next writes hear of it (with fewer blocks after the failure
	// than the LZ4 writer holds, only its Close would report it).
	bigFile(t, filepath.Join(dir, "a"), 8<<20)
	writeFile(t, filepath.Join(dir, "b"), []byte("b"), 0o644)
	full := errors.New("store: quota exceeded")
	zw := lz4frame.NewWriter(&failAfter{n: 1 << 20, err: full}, 1)
	defer zw.Close()
	for name, out := range map[string]io.Writer{
		"plain writer": &failAfter{n: 1 << 20, err: full},
		// The LZ4 writer takes file contents through its ReadFrom.
		"LZ4 frame": zw,
	} {
		_, err := walkTar(dir, nil)(context.Background(), out, newTestRecorder(t), nil)
		var we *walkError
		if err != full || errors.As(err, &we) {
			t.Errorf("%s: err = %v; want the output's own error, not an entry's", name, err)
		}
	}

	var last int64
	var out bytes.Buffer
	n, err := walkTar(dir, nil)(context.Background(), &out, newTestRecorder(t), func(done int64) { last = done })
	if err != nil || last != n || n != int64(out.Len()) {
		t.Fatalf("walked %d bytes (%v), wrote %d, last progress %d; want all three equal", n, err, out.Len(), last)
	}
}

// failAfter accepts n bytes, then fails with err.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, f.err
	}
	f.n -= len(p)
	return len(p), nil
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
	tw := newTarWriter(w, dir, newTestRecorder(t), nil)
	err := tw.each(context.Background(), strings.NewReader("\"./model.bin\"\n"))
	if err == nil || !strings.Contains(err.Error(), `"./model.bin"`) || !strings.Contains(err.Error(), "changed as we read it") {
		t.Fatalf("err = %v; want the changed file named", err)
	}
}

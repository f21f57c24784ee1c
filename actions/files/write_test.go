package files

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/remote"
)

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// write creates files with a real /bin/sh, tar, md5sum and stat.
func write(t *testing.T, o CreateOptions) []Written {
	t.Helper()
	got, err := Write(context.Background(), remote.Shell{Dir: t.TempDir()}, o)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return got
}

var headerRe = regexp.MustCompile(`^Test file #(\d+)\nCreated at: \d{4}-\d\d-\d\dT[0-9:.]+Z\nTimestamp: \d{19}\nRun: run-1\n`)

func TestWriteSeedContent(t *testing.T) {
	dir := t.TempDir()
	files := write(t, CreateOptions{Dir: dir, Count: 3, Prefix: "test-file-", RunID: "run-1"})
	if len(files) != 3 {
		t.Fatalf("got %d files, want 3", len(files))
	}
	seen := map[string]bool{}
	for i, f := range files {
		wantRel := "test-file-" + string(rune('1'+i)) + ".txt"
		if f.Rel != wantRel || f.Path != filepath.Join(dir, wantRel) {
			t.Errorf("file %d: path %q rel %q, want %s under %s", i, f.Path, f.Rel, wantRel, dir)
		}
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		m := headerRe.FindStringSubmatch(string(data))
		if m == nil || m[1] != string(rune('1'+i)) || len(m[0]) != len(data) {
			t.Errorf("file %d content %q is not the seed's text", i, data)
		}
		if f.Content != string(data) || f.MD5 != md5hex(data) || f.Size != int64(len(data)) {
			t.Errorf("file %d recorded content/md5/size %q %s %d, disk has %q %s %d",
				i, f.Content, f.MD5, f.Size, data, md5hex(data), len(data))
		}
		if seen[f.MD5] {
			t.Errorf("file %d has the same content as another", i)
		}
		seen[f.MD5] = true
	}
	// A second run writes different content over the same names.
	again := write(t, CreateOptions{Dir: dir, Count: 3, Prefix: "test-file-", RunID: "run-1"})
	for i := range again {
		if again[i].MD5 == files[i].MD5 {
			t.Errorf("file %d: a second run wrote the same content", i)
		}
	}
}

func TestWritePaddedFiles(t *testing.T) {
	dir := t.TempDir()
	const size = 200_000
	var reports [][2]int64
	var sent, received int64
	files := write(t, CreateOptions{Dir: dir, Count: 4, Size: size, Prefix: "big-", RunID: "run-1",
		Progress: func(done, total int64) { reports = append(reports, [2]int64{done, total}) },
		Moved:    func(s, r int64) { sent, received = sent+s, received+r }})
	seen := map[string]bool{}
	var tails [][]byte
	for i, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) != size || f.Size != size {
			t.Errorf("file %d is %d bytes (recorded %d), want %d", i, len(data), f.Size, size)
		}
		if !headerRe.Match(data) {
			t.Errorf("file %d does not start with the seed's text", i)
		}
		if f.Content != "" || f.MD5 != md5hex(data) || seen[f.MD5] {
			t.Errorf("file %d: content %q, md5 %s (disk %s), duplicate %v", i, f.Content, f.MD5, md5hex(data), seen[f.MD5])
		}
		seen[f.MD5] = true
		tails = append(tails, data[len(data)-4096:])
	}
	// The padding itself differs from file to file, not just the header.
	for i := 1; i < len(tails); i++ {
		if bytes.Equal(tails[0], tails[i]) {
			t.Errorf("files 1 and %d share their padding", i+1)
		}
	}
	if len(reports) == 0 || reports[len(reports)-1] != [2]int64{4 * size, 4 * size} {
		t.Errorf("progress reports %v do not end at the total", reports)
	}
	// The machine received the whole tar stream: a 512-byte header and the
	// content padded to 512 per file, and the two zero blocks that end it.
	if want := int64(4*(512+(size+511)/512*512) + 1024); received != want || sent != 0 {
		t.Errorf("heard %d bytes received, %d sent; want the tar stream's %d received", received, sent, want)
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    CreateOptions
		want string
	}{
		{"size below header", CreateOptions{Dir: dir, Count: 1, Size: 20, Prefix: "f"}, "smaller than the"},
		{"relative dir", CreateOptions{Dir: "work", Count: 1, Prefix: "f"}, "not an absolute path"},
		{"no files", CreateOptions{Dir: dir, Count: 0, Prefix: "f"}, "at least one"},
		{"prefix with slash", CreateOptions{Dir: dir, Count: 1, Prefix: "sub/f"}, "no '/'"},
		{"dir under a file", CreateOptions{Dir: filepath.Join(blocker, "sub"), Count: 1, Prefix: "f"}, "mkdir/tar exited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(context.Background(), remote.Shell{Dir: dir}, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// corrupting runs commands in a real shell but flips one byte of the tar
// stream on its way in, as a bad link or disk would.
type corrupting struct {
	remote.Shell
	at int64
}

func (c corrupting) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if strings.Contains(cmd, "tar -C") {
		stdin = &flipper{r: stdin, at: c.at}
	}
	return c.Shell.Exec(ctx, cmd, stdin, stdout, stderr)
}

type flipper struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipper) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0x01
	}
	f.off += int64(n)
	return n, err
}

func TestWriteDetectsCorruptionOnTheMachine(t *testing.T) {
	dir := t.TempDir()
	// Byte 520 is inside the first file's data (after its 512-byte header).
	_, err := Write(context.Background(), corrupting{Shell: remote.Shell{Dir: dir}, at: 520},
		CreateOptions{Dir: dir, Count: 2, Prefix: "test-file-", RunID: "r"})
	if err == nil {
		t.Fatal("a file altered in transit was not detected")
	}
	if !strings.Contains(err.Error(), "test-file-1.txt") || strings.Contains(err.Error(), "test-file-2.txt") {
		t.Fatalf("error should name test-file-1.txt only: %v", err)
	}
}

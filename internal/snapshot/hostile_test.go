package snapshot

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/store"
)

// member is one hand-made tar entry.
type member struct {
	name, link string
	typ        byte
	body       string
}

func tarOf(t testing.TB, members []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Linkname: m.link, Typeflag: m.typ, Mode: 0o644, Size: int64(len(m.body)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if m.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func lz4Of(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := lz4Writer(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// manifestFor describes members as Create would (whatever they contain).
func manifestFor(name string, members []member, raw, stored int) *Manifest {
	m := &Manifest{FormatVersion: FormatVersion, Name: name, Format: "tar+lz4", BytesRaw: int64(raw), BytesStored: int64(stored)}
	for _, mb := range members {
		p, _ := memberPath(mb.name)
		e := Entry{Path: p, Mode: "0644", MTime: time.Unix(1700000000, 0).UTC()}
		switch mb.typ {
		case tar.TypeReg:
			sum := md5.Sum([]byte(mb.body))
			e.Type, e.Size, e.MD5 = TypeFile, int64(len(mb.body)), hex.EncodeToString(sum[:])
			m.Counts.Files++
			m.BytesFiles += e.Size
		case tar.TypeDir:
			e.Type = TypeDir
			m.Counts.Dirs++
		case tar.TypeSymlink:
			e.Type, e.Link = TypeSymlink, mb.link
			m.Counts.Symlinks++
		default:
			e.Type = "special"
		}
		m.Entries = append(m.Entries, e)
	}
	return m
}

// putSnapshot stores members as snapshot name with the given manifest
// (nil: one describing the members).
func putSnapshot(t testing.TB, st store.Store, name string, members []member, m *Manifest) {
	t.Helper()
	raw := tarOf(t, members)
	data := lz4Of(t, raw)
	if m == nil {
		m = manifestFor(name, members, len(raw), len(data))
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(testCtx(t), dataKey(name), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(testCtx(t), manifestKey(name), bytes.NewReader(js)); err != nil {
		t.Fatal(err)
	}
}

// hostileCase is one hostile entry and the refusal it must meet.
type hostileCase struct {
	evil []member
	want string
}

// hostileCases are entries that could escape the target; base is an
// absolute directory an absolute entry would write into.
func hostileCases(base string) map[string]hostileCase {
	return map[string]hostileCase{
		"absolute":        {[]member{{name: base + "/abs-escape", typ: tar.TypeReg, body: "x"}}, `refused entry "` + base + `/abs-escape": absolute path`},
		"dotdot":          {[]member{{name: "../escape.txt", typ: tar.TypeReg, body: "x"}}, `refused entry "../escape.txt": path has a ".." component`},
		"nested dotdot":   {[]member{{name: "./a/../../escape", typ: tar.TypeReg, body: "x"}}, `refused entry "./a/../../escape": path has a ".." component`},
		"symlink out":     {[]member{{name: "./up", link: "../..", typ: tar.TypeSymlink}}, `refused entry "./up": symlink to "../.." points outside`},
		"symlink abs":     {[]member{{name: "./etc", link: "/etc", typ: tar.TypeSymlink}}, `refused entry "./etc": symlink to "/etc" points outside`},
		"hardlink out":    {[]member{{name: "./hl", link: "../outside", typ: tar.TypeLink}}, `refused entry "./hl": hard link target "../outside"`},
		"hardlink abs":    {[]member{{name: "./hl", link: "/etc/passwd", typ: tar.TypeLink}}, `refused entry "./hl": hard link target "/etc/passwd"`},
		"hardlink absent": {[]member{{name: "./hl", link: "elsewhere", typ: tar.TypeLink}}, `refused entry "./hl": hard link to "elsewhere", which is not a regular file earlier`},
		"char device":     {[]member{{name: "./null", typ: tar.TypeChar}}, `refused entry "./null": special file (character device)`},
		"block device":    {[]member{{name: "./sda", typ: tar.TypeBlock}}, `refused entry "./sda": special file (block device)`},
		"fifo":            {[]member{{name: "./pipe", typ: tar.TypeFifo}}, `refused entry "./pipe": special file (FIFO)`},
		"write through": {[]member{{name: "./d", link: "sub", typ: tar.TypeSymlink}, {name: "./d/x", typ: tar.TypeReg, body: "x"}},
			`refused entry "./d/x": lies below symlink "d"`},
		"chain escape": {[]member{{name: "./a/", typ: tar.TypeDir}, {name: "./c", link: "a/b/..", typ: tar.TypeSymlink}, {name: "./a/b", link: "..", typ: tar.TypeSymlink}},
			`entry "c": symlink to "a/b/.." points outside the snapshot root through other links`},
	}
}

// putHostile stores snapshot "evil": a harmless file, which goes to the
// extraction first, then the evil entries. The manifest lists the harmless
// entries and stand-ins for the evil ones: the filter must refuse on the
// archive's own headers. (A chain escape is only visible with all links
// known: there the manifest describes the archive and is refused itself.)
func putHostile(t *testing.T, st store.Store, name string, evil []member) {
	t.Helper()
	members := append([]member{{name: "./", typ: tar.TypeDir}, {name: "./ok.txt", typ: tar.TypeReg, body: strings.Repeat("fine ", 1000)}}, evil...)
	m := manifestFor("evil", members, 0, 0)
	if name != "chain escape" {
		m = manifestFor("evil", members[:len(members)-1], 0, 0)
		m.Entries = append(m.Entries, Entry{Path: "standin", Type: TypeDir, Mode: "0644"})
		m.Counts.Dirs++
	}
	raw := tarOf(t, members)
	data := lz4Of(t, raw)
	m.BytesRaw, m.BytesStored = int64(len(raw)), int64(len(data))
	putSnapshot(t, st, "evil", members, m)
}

// Each hostile entry follows a harmless file that has already gone to the
// extraction (the remote tar, or the agent's writers); the restore must
// fail naming the entry and leave nothing, through scn and through the
// agent alike.
func TestRestoreRefusesHostileEntries(t *testing.T) {
	base := t.TempDir()
	mc := newMachine(t)
	for name, tc := range hostileCases(base) {
		for via, o := range map[string]RestoreOptions{ViaSCN: {Exec: sh}, ViaAgent: {Exec: mc.x, Agent: mc.agent,
			Notice: func(s string) { t.Errorf("the agent was not used: %s", s) }}} {
			t.Run(name+"/"+via, func(t *testing.T) {
				st := dirStore(t)
				putHostile(t, st, name, tc.evil)
				caseBase := t.TempDir()
				target := filepath.Join(caseBase, "ws")
				if err := os.Mkdir(target, 0o755); err != nil {
					t.Fatal(err)
				}
				o.Store, o.Name, o.Path = st, "evil", target
				_, err := Restore(testCtx(t), o)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Restore = %v\nwant an error containing %s", err, tc.want)
				}
				assertEmptyDir(t, target)
				if entries, _ := os.ReadDir(caseBase); len(entries) != 1 {
					t.Errorf("something was written beside the target: %v", entries)
				}
				if _, err := os.Lstat(filepath.Join(base, "abs-escape")); err == nil {
					t.Error("absolute entry was written")
				}
			})
		}
	}
}

// The filter itself also catches a chain escape once every link is known,
// even if a manifest (made here without checks) lists it.
func TestFilterRefusesChainEscapeAtTheEnd(t *testing.T) {
	members := []member{{name: "./", typ: tar.TypeDir}, {name: "./a/", typ: tar.TypeDir},
		{name: "./c", link: "a/b/..", typ: tar.TypeSymlink}, {name: "./a/b", link: "..", typ: tar.TypeSymlink}}
	raw := tarOf(t, members)
	m := manifestFor("chain", members, len(raw), 0)
	var out bytes.Buffer
	err := filter(bytes.NewReader(raw), &out, m, nil)
	if err == nil || !strings.Contains(err.Error(), `entry "c": symlink to "a/b/.." points outside the snapshot root through other links`) {
		t.Fatalf("filter = %v", err)
	}
	// Not a byte past the end-of-archive marker was written: the remote
	// tar never sees a complete archive.
	if bytes.Contains(out.Bytes(), make([]byte, 1024)) {
		t.Fatal("the filter closed the archive despite refusing it")
	}
}

// A workspace holding what a restore would refuse cannot be snapshotted:
// better to learn it at snapshot time than when the GPU is gone.
func TestCreateRefusesWhatRestoreWould(t *testing.T) {
	for name, setup := range map[string]func(root string) error{
		"fifo":             func(root string) error { return mkfifo(filepath.Join(root, "pipe")) },
		"non-UTF-8 name":   func(root string) error { return os.WriteFile(filepath.Join(root, "caf\xe9.txt"), nil, 0o644) },
		"absolute symlink": func(root string) error { return os.Symlink("/usr/bin/python3", filepath.Join(root, "python")) },
		"symlink out":      func(root string) error { return os.Symlink("../../secrets", filepath.Join(root, "s")) },
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "a.txt"), []byte("a"), 0o644)
			if err := setup(root); err != nil {
				t.Fatal(err)
			}
			st := dirStore(t)
			_, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: root, Name: "bad", Store: st, Source: "7"})
			if err == nil || !strings.Contains(err.Error(), "a restore would refuse it") || !strings.Contains(err.Error(), "on instance 7") {
				t.Fatalf("Create = %v", err)
			}
			if objs, _ := st.List(testCtx(t), ""); len(objs) != 0 {
				t.Fatalf("a refused snapshot left %v in the store", objs)
			}
		})
	}
}

func TestCreateSurfacesTarErrors(t *testing.T) {
	st := dirStore(t)
	_, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: "/nonexistent/workspace", Name: "x", Store: st, Source: "42"})
	want := `snapshot "x" of /nonexistent/workspace on instance 42: tar exited 2: tar: /nonexistent/workspace: Cannot open: No such file or directory`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Create = %v\nwant %s...", err, want)
	}
	if objs, _ := st.List(testCtx(t), ""); len(objs) != 0 {
		t.Fatalf("a failed snapshot left %v in the store", objs)
	}
}

func TestCreateRefusesExistingAndBadNames(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("f"), 0o644)
	st := dirStore(t)
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "once", Store: st}); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: "once", Store: st}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Create = %v", err)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "-x", "a b", strings.Repeat("x", 129), "ünï"} {
		if _, err := Create(testCtx(t), CreateOptions{Exec: sh, Path: src, Name: bad, Store: st}); err == nil || !strings.Contains(err.Error(), "invalid snapshot name") {
			t.Errorf("Create(%q) = %v", bad, err)
		}
	}
}

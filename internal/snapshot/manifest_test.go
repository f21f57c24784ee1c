package snapshot

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseManifestRefusesBadManifests(t *testing.T) {
	members := []member{{name: "./", typ: tar.TypeDir}, {name: "./a.txt", typ: tar.TypeReg, body: "hello"}, {name: "./l", link: "a.txt", typ: tar.TypeSymlink}}
	base := func() *Manifest { return manifestFor("s", members, 100, 50) }
	if _, err := parseManifest(mustJSON(t, base()), "s"); err != nil {
		t.Fatalf("valid manifest refused: %v", err)
	}
	for name, tc := range map[string]struct {
		mod  func(m *Manifest)
		want string
	}{
		"version":       {func(m *Manifest) { m.FormatVersion = 2 }, "format_version 2 is not supported"},
		"name":          {func(m *Manifest) { m.Name = "other" }, `names snapshot "other", not "s"`},
		"format":        {func(m *Manifest) { m.Format = "tar+zstd" }, `data format "tar+zstd"`},
		"dotdot":        {func(m *Manifest) { m.Entries[1].Path = "../a.txt" }, `path has a ".." component`},
		"absolute":      {func(m *Manifest) { m.Entries[1].Path = "/etc/passwd" }, "absolute path"},
		"not canonical": {func(m *Manifest) { m.Entries[1].Path = "./a.txt" }, "canonical form"},
		"bad md5":       {func(m *Manifest) { m.Entries[1].MD5 = "xyz" }, "md5 of 32 hex digits"},
		"bad mode":      {func(m *Manifest) { m.Entries[1].Mode = "rw-r--r--" }, "not octal permission bits"},
		"type":          {func(m *Manifest) { m.Entries[1].Type = "fifo" }, `unknown type "fifo"`},
		"negative size": {func(m *Manifest) { m.Entries[1].Size = -1 }, "size >= 0"},
		"symlink out":   {func(m *Manifest) { m.Entries[2].Link = "../../etc" }, "points outside the snapshot root"},
		"duplicate": {func(m *Manifest) {
			m.Entries[2] = m.Entries[1]
			m.Counts = Counts{Files: 2, Dirs: 1}
			m.BytesFiles = 10
		}, "appears twice"},
		"counts": {func(m *Manifest) { m.Counts.Files = 7 }, "do not match its entries"},
		"hardlink fresh": {func(m *Manifest) {
			m.Entries[2] = Entry{Path: "h", Type: TypeHardlink, Link: "nope", Mode: "0644", MD5: m.Entries[1].MD5}
		}, "not a regular file earlier"},
	} {
		m := base()
		tc.mod(m)
		_, err := parseManifest(mustJSON(t, m), "s")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parseManifest = %v; want %q", name, err, tc.want)
		}
	}
	for _, junk := range []string{"", "null", "[]", `{"format_version":1} {}`, `{"format_version":"1"}`, strings.Repeat("[", 100000)} {
		if _, err := parseManifest([]byte(junk), ""); err == nil {
			t.Errorf("parseManifest(%.20q) succeeded", junk)
		}
	}
}

// Links to links to links: resolving them naively doubles the work per
// level; the follow budget refuses them at once.
func TestSymlinkChainsAreBounded(t *testing.T) {
	m := &Manifest{FormatVersion: FormatVersion, Name: "s", Format: "tar+lz4"}
	m.Entries = append(m.Entries, Entry{Path: "l0", Type: TypeSymlink, Link: ".", Mode: "0777"})
	for i := 1; i < 60; i++ {
		m.Entries = append(m.Entries, Entry{Path: fmt.Sprintf("l%d", i), Type: TypeSymlink, Link: fmt.Sprintf("l%d/l%d", i-1, i-1), Mode: "0777"})
	}
	m.Counts.Symlinks = len(m.Entries)
	_, err := parseManifest(mustJSON(t, m), "s")
	if err == nil || !strings.Contains(err.Error(), "points outside the snapshot root") {
		t.Fatalf("parseManifest = %v; want the deep chain refused", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

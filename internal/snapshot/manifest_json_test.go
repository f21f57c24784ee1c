package snapshot

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// manifest.json assembled from entries encoded batch by batch is, byte for
// byte, what json.MarshalIndent writes for the whole manifest; without
// them, or when they do not cover the entries, it is MarshalIndent's own.
func TestEncodeManifestAsMarshalIndent(t *testing.T) {
	mtime := time.Date(2026, 12, 6, 4, 0, 0, 123, time.UTC)
	m := &Manifest{FormatVersion: FormatVersion, Name: "s", CreatedAt: mtime, Source: Source{Instance: "gpu-1", Path: "/workspace"},
		Format: "tar+lz4", HashAlgorithm: HashXXH3, Counts: Counts{Files: 2, Dirs: 1, Symlinks: 1}, BytesRaw: 10240,
		BytesFiles: 8, BytesStored: 300, Ratio: 34.1, Seconds: 2.5}
	m.Entries = []Entry{
		{Path: ".", Type: TypeDir, Mode: "0755", MTime: mtime},
		{Path: `odd "name"\<&>`, Type: TypeFile, Size: 3, Mode: "0644", MTime: mtime, Hash: strings.Repeat("ab", 16)},
		{Path: "ütf-8", Type: TypeFile, Size: 5, Mode: "2755", MTime: mtime, Hash: strings.Repeat("cd", 16)},
		{Path: "l", Type: TypeSymlink, Mode: "0777", MTime: mtime, Link: "ütf-8"},
	}
	want, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	var lines entryLines
	for _, batch := range [][]Entry{m.Entries[:1], m.Entries[1:3], m.Entries[3:]} {
		if err := lines.add(batch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := encodeManifest(m, &lines)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("assembled (%v):\n%s\nMarshalIndent:\n%s", err, got, want)
	}
	var short entryLines
	short.add(m.Entries[:2])
	for _, l := range []*entryLines{nil, &short} {
		if got, err := encodeManifest(m, l); err != nil || !bytes.Equal(got, want) {
			t.Errorf("with lines %v: %v, and not MarshalIndent's bytes", l, err)
		}
	}
}

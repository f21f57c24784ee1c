package snapshot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// scn assembles an agent's manifest from the entries it sent while the
// bytes moved and the data fields that came last, and checks the whole as
// any manifest: a machine that lies about either never gets its snapshot
// completed.
func TestAgentManifestIsAssembledAndChecked(t *testing.T) {
	mtime := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Path: ".", Type: TypeDir, Mode: "0755", MTime: mtime},
		{Path: "a", Type: TypeFile, Size: 3, Mode: "0644", MTime: mtime, Hash: strings.Repeat("ab", 16)},
		{Path: "b", Type: TypeFile, Size: 5, Mode: "0644", MTime: mtime, Hash: strings.Repeat("cd", 16)},
	}
	head := func(mutate func(*Manifest)) json.RawMessage {
		m := Manifest{FormatVersion: FormatVersion, Format: "tar+lz4", HashAlgorithm: HashXXH3,
			Counts: Counts{Files: 2, Dirs: 1}, BytesRaw: 4096, BytesFiles: 8, BytesStored: 300}
		if mutate != nil {
			mutate(&m)
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	sent := func(batches ...[]Entry) entryCollector {
		var c entryCollector
		for _, b := range batches {
			raw, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.add(raw); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}

	all := sent(entries[:2], entries[2:])
	m, err := agentManifest(head(nil), &all, "snap")
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "snap" || !reflect.DeepEqual(m.Entries, entries) {
		t.Fatalf("assembled %q with entries %+v; want snap with the entries sent", m.Name, m.Entries)
	}
	// manifest.json from the entries encoded as they came is the one
	// MarshalIndent writes.
	want, _ := json.MarshalIndent(m, "", " ")
	if got, err := encodeManifest(m, m.lines); err != nil || m.lines.n != len(entries) || !bytes.Equal(got, want) {
		t.Errorf("manifest.json from the batches (%v) is not MarshalIndent's:\n%s", err, got)
	}

	for _, c := range []struct {
		name    string
		head    json.RawMessage
		entries entryCollector
		want    string
	}{
		{"an entry missing", head(nil), sent(entries[:2]), "do not match its entries"},
		{"entries in the data fields", head(func(m *Manifest) { m.Entries = entries[2:] }), sent(entries[:2]), "lists entries of its own"},
		{"a path leaving the root", head(nil), sent(entries[:2], []Entry{{Path: "../b", Type: TypeFile, Size: 5, Mode: "0644", MTime: mtime, Hash: strings.Repeat("cd", 16)}}), `"../b"`},
		{"an MD5 in an xxh3 manifest", head(nil), sent(entries[:2], []Entry{{Path: "b", Type: TypeFile, Size: 5, Mode: "0644", MTime: mtime, MD5: strings.Repeat("cd", 16)}}), "entry 2"},
		{"too large", head(nil), entryCollector{entries: entries, bytes: maxManifestBytes}, "larger than"},
	} {
		if _, err := agentManifest(c.head, &c.entries, "snap"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error saying %q", c.name, err, c.want)
		}
	}

	var c entryCollector
	if err := c.add(json.RawMessage(`{"path": "a"}`)); err == nil || !strings.Contains(err.Error(), "do not decode") {
		t.Errorf("entries that are not a JSON array: %v; want refused", err)
	}
	c = entryCollector{bytes: maxManifestBytes - 10}
	if err := c.add(json.RawMessage(`[{"path": "a", "type": "file"}]`)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("entries past the manifest's bound: %v; want refused", err)
	}
}

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
	for _, batch := range [][]Entry{m.Entries[:0], m.Entries[:1], m.Entries[1:3], nil, m.Entries[3:]} {
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

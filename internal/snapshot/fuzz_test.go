package snapshot

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func FuzzReadManifest(f *testing.F) {
	members := []member{{name: "./", typ: tar.TypeDir}, {name: "./a.txt", typ: tar.TypeReg, body: "hello"}, {name: "./l", link: "a.txt", typ: tar.TypeSymlink}}
	good, _ := json.Marshal(manifestFor("seed", members, 10240, 100))
	f.Add(good)
	f.Add([]byte(`{"format_version":1,"name":"seed","format":"tar+lz4","entries":[{"path":"../x","type":"file","mode":"0644","md5":"00000000000000000000000000000000"}]}`))
	f.Add([]byte(`{"format_version":1,"entries":[{"path":"a","type":"symlink","link":"/etc","mode":"0777"}]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Add([]byte(`{"format_version":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data, "")
		if err != nil {
			return
		}
		// Whatever is accepted survives a round trip and is accepted again.
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encoding an accepted manifest: %v", err)
		}
		if _, err := parseManifest(again, m.Name); err != nil {
			t.Fatalf("re-parsing an accepted manifest: %v", err)
		}
		for _, e := range m.Entries {
			if checkPath(e.Path) != nil {
				t.Fatalf("accepted unsafe path %q", e.Path)
			}
		}
	})
}

func FuzzRestoreFilter(f *testing.F) {
	members := []member{{name: "./", typ: tar.TypeDir}, {name: "./dir/", typ: tar.TypeDir}, {name: "./dir/f", typ: tar.TypeReg, body: "content"},
		{name: "./link", link: "dir/f", typ: tar.TypeSymlink}}
	raw := tarOf(f, members)
	good, _ := json.Marshal(manifestFor("seed", members, len(raw), 0))
	f.Add(raw, good)
	f.Add(tarOf(f, []member{{name: "../evil", typ: tar.TypeReg, body: "x"}}), good)
	f.Add(tarOf(f, []member{{name: "./l", link: "/etc", typ: tar.TypeSymlink}, {name: "./l/passwd", typ: tar.TypeReg, body: "x"}}), good)
	f.Add(raw[:700], good)
	f.Fuzz(func(t *testing.T, tarData, manifestJSON []byte) {
		m, err := parseManifest(manifestJSON, "")
		if err != nil {
			m = &Manifest{}
		}
		var out bytes.Buffer
		if filter(bytes.NewReader(tarData), &out, m, nil) != nil {
			return
		}
		// Accepted: the output is a tar of safe entries matching the manifest.
		tr := tar.NewReader(&out)
		for i := 0; ; i++ {
			h, err := tr.Next()
			if err == io.EOF {
				if i != len(m.Entries) {
					t.Fatalf("output has %d entries, manifest %d", i, len(m.Entries))
				}
				return
			}
			if err != nil {
				t.Fatalf("filter output is not a valid tar: %v", err)
			}
			e, err := entryFromHeader(h)
			if err != nil || e.Path != m.Entries[i].Path {
				t.Fatalf("output entry %q (%v) differs from manifest %q", h.Name, err, m.Entries[i].Path)
			}
		}
	})
}

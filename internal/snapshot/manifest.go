package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/scnlabs/scn/internal/store"
)

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// maxManifestBytes caps what ReadManifest will load (≈1M entries), and
// so what Create will write: a manifest no restore would read is no
// snapshot. A variable so a test can lower it.
var maxManifestBytes = 256 << 20

// Manifest describes one snapshot; it is written last, so its presence
// means the data object is complete.
type Manifest struct {
	FormatVersion int       `json:"format_version"`
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"created_at"`
	Source        Source    `json:"source"`
	Format        string    `json:"format"` // "tar+lz4"
	// HashAlgorithm names the per-file hash of the entries: "" (MD5, in
	// the entries' md5 field) or HashXXH3 (in their hash field).
	HashAlgorithm string  `json:"hash_algorithm,omitempty"`
	Counts        Counts  `json:"counts"`
	BytesRaw      int64   `json:"bytes_raw"`    // the tar stream
	BytesFiles    int64   `json:"bytes_files"`  // regular file contents
	BytesStored   int64   `json:"bytes_stored"` // data.tar.lz4
	Ratio         float64 `json:"ratio"`        // bytes_raw / bytes_stored
	Seconds       float64 `json:"seconds"`
	Entries       []Entry `json:"entries"` // in archive order

	// Transport says how Create moved the bytes; not stored.
	Transport Transport `json:"-"`

	// lines are the entries already encoded for manifest.json, as an
	// agent's came in (nil: encode them when writing it).
	lines *entryLines
}

// Source is where a snapshot was taken.
type Source struct {
	Instance string `json:"instance"`
	Path     string `json:"path"`
}

// Counts tallies entries by type.
type Counts struct {
	Files     int `json:"files"`
	Dirs      int `json:"dirs"`
	Symlinks  int `json:"symlinks"`
	Hardlinks int `json:"hardlinks"`
}

// Entry is one archive member. Paths are relative to the snapshot root
// ("." is the root itself); Mode is octal permission bits ("0644"). Files
// and hard links carry their content's digest (a hard link its target's):
// in MD5 when the manifest names no hash algorithm, in Hash otherwise.
type Entry struct {
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Size  int64     `json:"size"`
	Mode  string    `json:"mode"`
	MTime time.Time `json:"mtime"`
	Link  string    `json:"link,omitempty"`
	MD5   string    `json:"md5,omitempty"`
	Hash  string    `json:"hash,omitempty"`
}

// ReadManifest loads and checks the manifest of snapshot name. A missing
// manifest means the snapshot does not exist (wraps store.ErrNotExist).
func ReadManifest(ctx context.Context, st store.Store, name string) (*Manifest, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	rc, err := st.Get(ctx, manifestKey(name))
	if errors.Is(err, store.ErrNotExist) {
		return nil, fmt.Errorf("snapshot %q not found in %s (no %s): %w", name, st, manifestKey(name), err)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %q: reading its manifest: %w", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, int64(maxManifestBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("snapshot %q: reading its manifest: %w", name, err)
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("snapshot %q: manifest is larger than %d bytes; refusing to load it", name, maxManifestBytes)
	}
	m, err := parseManifest(data, name)
	if err != nil {
		return nil, fmt.Errorf("snapshot %q: %s is unusable: %w", name, manifestKey(name), err)
	}
	return m, nil
}

// ParseManifest decodes and checks a manifest received whole (scn hands
// the agent the one it read; what the agent records comes back in pieces,
// agentManifest): every check ReadManifest makes. name, when not "", must be its name.
func ParseManifest(data []byte, name string) (*Manifest, error) {
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("manifest is larger than %d bytes; refusing to load it", maxManifestBytes)
	}
	return parseManifest(data, name)
}

// isDigest says whether s is a hex digest of either algorithm (128 bits:
// 32 lowercase hex digits). A loop, not a regexp: it runs for every entry
// of every manifest, 100,000 of them in a large workspace.
func isDigest(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseManifest decodes data and checks every field a restore relies on,
// so a hostile or damaged manifest is refused before any byte moves.
func parseManifest(data []byte, name string) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not valid manifest JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("not valid manifest JSON: data after the manifest object")
	}
	if err := checkManifest(&m, name); err != nil {
		return nil, err
	}
	return &m, nil
}

// checkManifest checks every field of a decoded manifest a restore
// relies on (parseManifest's checks, for a manifest scn already holds).
func checkManifest(m *Manifest, name string) error {
	switch {
	case m.FormatVersion != FormatVersion:
		return fmt.Errorf("format_version %d is not supported (this scn reads %d)", m.FormatVersion, FormatVersion)
	case name != "" && m.Name != name:
		return fmt.Errorf("it names snapshot %q, not %q", m.Name, name)
	case m.Format != "tar+lz4":
		return fmt.Errorf("data format %q is not supported (want tar+lz4)", m.Format)
	case m.BytesRaw < 0 || m.BytesStored < 0 || m.BytesFiles < 0:
		return fmt.Errorf("negative byte counts")
	case m.HashAlgorithm == HashMD5:
		return fmt.Errorf(`hash_algorithm %q is spelled by leaving it out`, HashMD5)
	}
	if _, err := newHash(m.HashAlgorithm); err != nil {
		return err
	}
	t := newTree()
	var c Counts
	var files int64
	for i, e := range m.Entries {
		if err := checkEntry(t, e, m.HashAlgorithm); err != nil {
			return fmt.Errorf("entry %d %q: %w", i, e.Path, err)
		}
		switch e.Type {
		case TypeFile:
			c.Files++
			files += e.Size
			t.sums[e.Path] = e.Digest()
		case TypeDir:
			c.Dirs++
		case TypeSymlink:
			c.Symlinks++
		case TypeHardlink:
			c.Hardlinks++
			if t.sums[e.Link] != e.Digest() {
				return fmt.Errorf("entry %d %q: hard link %s differs from its target %q", i, e.Path, algorithm(m.HashAlgorithm), e.Link)
			}
		}
	}
	if err := t.finish(); err != nil {
		return err
	}
	if c != m.Counts || files != m.BytesFiles {
		return fmt.Errorf("counts %+v and bytes_files %d do not match its entries (%+v, %d)", m.Counts, m.BytesFiles, c, files)
	}
	return nil
}

func checkEntry(t *tree, e Entry, alg string) error {
	if err := checkPath(e.Path); err != nil {
		return err
	}
	if mode, err := strconv.ParseUint(e.Mode, 8, 32); err != nil || mode > 0o7777 {
		return fmt.Errorf("mode %q is not octal permission bits", e.Mode)
	}
	// The digest must be in the field of the manifest's algorithm, and
	// only there.
	field, other := e.MD5, e.Hash
	if alg != "" {
		field, other = e.Hash, e.MD5
	}
	name := algorithm(alg)
	switch e.Type {
	case TypeFile:
		if e.Size < 0 || !isDigest(field) || other != "" || e.Link != "" {
			return fmt.Errorf("file needs a size >= 0, an %s of 32 hex digits and no link", name)
		}
	case TypeHardlink:
		if err := checkPath(e.Link); err != nil {
			return fmt.Errorf("hard link target %q: %w", e.Link, err)
		}
		if e.Size != 0 || !isDigest(field) || other != "" {
			return fmt.Errorf("hard link needs size 0 and its target's %s", name)
		}
	case TypeDir, TypeSymlink:
		if e.Size != 0 || e.MD5 != "" || e.Hash != "" || (e.Type == TypeDir && e.Link != "") {
			return fmt.Errorf("%s with a size, digest or link", e.Type)
		}
	default:
		return fmt.Errorf("unknown type %q", e.Type)
	}
	return t.admit(e)
}

// sameEntry reports how a header entry differs from the manifest's, or "".
func sameEntry(got, want Entry) string {
	switch {
	case got.Path != want.Path:
		return fmt.Sprintf("the manifest expects %q here", want.Path)
	case got.Type != want.Type:
		return fmt.Sprintf("it is a %s, the manifest says %s", got.Type, want.Type)
	case got.Size != want.Size:
		return fmt.Sprintf("it has %d bytes, the manifest says %d", got.Size, want.Size)
	case got.Link != want.Link:
		return fmt.Sprintf("it links to %q, the manifest says %q", got.Link, want.Link)
	case got.Mode != want.Mode:
		return fmt.Sprintf("its mode is %s, the manifest says %s", got.Mode, want.Mode)
	}
	return ""
}

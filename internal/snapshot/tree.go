package snapshot

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Entry types in a manifest.
const (
	TypeFile     = "file"
	TypeDir      = "dir"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink"
)

// maxLinkFollows bounds the symlinks followed while resolving one target,
// like the kernel's ELOOP limit; it also keeps hostile chains of links to
// links from costing exponential time.
const maxLinkFollows = 40

// memberPath turns a tar member name ("./a/b", "./dir/", "./") into a
// manifest path ("a/b", "dir", "."), refusing names that are absolute, go
// up with "..", or are not in canonical form.
func memberPath(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("empty name")
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("absolute path")
	case strings.ContainsRune(name, 0):
		return "", fmt.Errorf("NUL in name")
	case !utf8.ValidString(name):
		// The manifest is JSON, which cannot carry it unchanged.
		return "", fmt.Errorf("name is not valid UTF-8")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", fmt.Errorf(`path has a ".." component`)
		}
	}
	p := strings.TrimSuffix(name, "/")
	if p != "." {
		p = strings.TrimPrefix(p, "./")
	}
	if p == "" {
		p = "."
	}
	if path.Clean(p) != p {
		return "", fmt.Errorf("path is not in canonical form")
	}
	return p, nil
}

// checkPath checks a manifest path (already in memberPath's form).
func checkPath(p string) error {
	got, err := memberPath(p)
	if err == nil && got != p {
		err = fmt.Errorf("path is not in canonical form")
	}
	return err
}

// entryFromHeader describes a tar header as a manifest entry (without MD5),
// refusing every type but regular files, directories and links.
func entryFromHeader(h *tar.Header) (Entry, error) {
	p, err := memberPath(h.Name)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Mode: fmt.Sprintf("%04o", h.Mode&0o7777), MTime: h.ModTime.UTC()}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse:
		e.Type, e.Size = TypeFile, h.Size
	case tar.TypeDir:
		e.Type = TypeDir
	case tar.TypeSymlink:
		e.Type, e.Link = TypeSymlink, h.Linkname
		if !utf8.ValidString(e.Link) {
			return e, fmt.Errorf("symlink target is not valid UTF-8")
		}
	case tar.TypeLink:
		e.Type = TypeHardlink
		if e.Link, err = memberPath(h.Linkname); err != nil {
			return e, fmt.Errorf("hard link target %q: %v", h.Linkname, err)
		}
	default:
		return e, fmt.Errorf("special file (%s): snapshots hold only files, directories and links", typeName(h.Typeflag))
	}
	if e.Type != TypeFile && h.Size != 0 {
		return e, fmt.Errorf("%s with %d bytes of data", e.Type, h.Size)
	}
	return e, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	case tar.TypeCont:
		return "contiguous file"
	case tar.TypeXGlobalHeader:
		return "global extended header"
	}
	return fmt.Sprintf("tar type %q", t)
}

// tree follows the entries of one archive, in order, and refuses any that
// could write or point outside the root: entries below a symlink (tar
// would write through it), hard links to anything but an earlier regular
// file, and symlinks whose target leaves the root, even through other
// symlinks (checked again in finish, once every link is known).
type tree struct {
	seen     map[string]string // path → type
	symlinks map[string]string // path → target
	sums     map[string]string // regular file → digest, for hard links
}

func newTree() *tree {
	return &tree{seen: map[string]string{}, symlinks: map[string]string{}, sums: map[string]string{}}
}

func (t *tree) admit(e Entry) error {
	if _, dup := t.seen[e.Path]; dup {
		return fmt.Errorf("appears twice in the archive")
	}
	for dir := path.Dir(e.Path); dir != "." && dir != "/"; dir = path.Dir(dir) {
		if _, isLink := t.symlinks[dir]; isLink {
			return fmt.Errorf("lies below symlink %q: extracting it would write through the link", dir)
		}
	}
	switch e.Type {
	case TypeSymlink:
		if e.Link == "" {
			return fmt.Errorf("symlink with an empty target")
		}
		if t.escapes(e.Path, e.Link) {
			return fmt.Errorf("symlink to %q points outside the snapshot root (or through too many links)", e.Link)
		}
		t.symlinks[e.Path] = e.Link
	case TypeHardlink:
		if t.seen[e.Link] != TypeFile {
			return fmt.Errorf("hard link to %q, which is not a regular file earlier in the archive", e.Link)
		}
	}
	if e.Path == "." && e.Type != TypeDir {
		return fmt.Errorf("the root must be a directory, not a %s", e.Type)
	}
	t.seen[e.Path] = e.Type
	return nil
}

// finish re-checks every symlink now that all are known: a link checked
// early could escape through a symlink added later.
func (t *tree) finish() error {
	for p, target := range t.symlinks {
		if t.escapes(p, target) {
			return fmt.Errorf("entry %q: symlink to %q points outside the snapshot root through other links, or loops", p, target)
		}
	}
	return nil
}

// escapes reports whether the symlink at linkPath with target resolves
// outside the root, following the archive's own symlinks.
func (t *tree) escapes(linkPath, target string) bool {
	follows := 0
	_, ok := t.resolve(splitPath(path.Dir(linkPath)), target, &follows)
	return !ok
}

func splitPath(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// resolve walks target from dir; ok is false if it leaves the root, is
// absolute, or loops.
func (t *tree) resolve(dir []string, target string, follows *int) ([]string, bool) {
	if strings.HasPrefix(target, "/") || *follows > maxLinkFollows {
		return nil, false
	}
	cur := append([]string(nil), dir...)
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return nil, false
			}
			cur = cur[:len(cur)-1]
			continue
		}
		cur = append(cur, c)
		if next, isLink := t.symlinks[strings.Join(cur, "/")]; isLink {
			*follows++
			var ok bool
			if cur, ok = t.resolve(cur[:len(cur)-1], next, follows); !ok {
				return nil, false
			}
		}
	}
	return cur, true
}

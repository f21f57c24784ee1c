package files

import (
	"fmt"
	"path"
	"strings"
)

// Resolve maps recorded files onto paths on the machine that checks them.
// The machine that wrote the files and the one that checks them need not
// agree on absolute paths (two local sandboxes have different workspaces;
// two VAST GPUs both use /workspace), so each file is placed by where it
// was relative to the writer's directory:
//
//   - its rel, when recorded (files.create records it);
//   - else its path relative to sourceDir, when given;
//   - else its path relative to the longest common directory of all the
//     recorded paths (the seed's list of /workspace/test-file-*.txt →
//     test-file-*.txt);
//
// and that relative path is joined to dir. Paths are POSIX: the machine's.
func Resolve(files []File, dir, sourceDir string) ([]string, error) {
	var common string
	if sourceDir == "" {
		paths := make([]string, 0, len(files))
		for _, f := range files {
			if f.Rel == "" {
				paths = append(paths, f.Path)
			}
		}
		common = commonDir(paths)
	}
	out := make([]string, len(files))
	for i, f := range files {
		rel := f.Rel
		switch {
		case rel != "":
		case f.Path == "":
			return nil, fmt.Errorf("file %d has neither path nor rel", i)
		case sourceDir != "":
			r, ok := relativeTo(f.Path, sourceDir)
			if !ok {
				return nil, fmt.Errorf("%s is not under source_dir %s", f.Path, sourceDir)
			}
			rel = r
		default:
			rel, _ = relativeTo(f.Path, common)
		}
		out[i] = path.Join(dir, rel)
	}
	return out, nil
}

// relativeTo returns p relative to base, if p is inside it. An empty base
// (no common directory) leaves p as it is.
func relativeTo(p, base string) (string, bool) {
	p = path.Clean(p)
	switch base = path.Clean(base); {
	case base == "." && !path.IsAbs(p):
		return p, true
	case base == "." || base == "":
		return p, false
	case base == "/" && path.IsAbs(p) && p != "/":
		return p[1:], true
	}
	if rest, ok := strings.CutPrefix(p, base+"/"); ok {
		return rest, true
	}
	return p, false
}

// commonDir is the longest directory containing every path: "/" or a
// deeper absolute directory when all are absolute, a relative one (maybe
// ".") when all are relative, "" when they mix.
func commonDir(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	abs := path.IsAbs(paths[0])
	var common []string
	for i, p := range paths {
		if path.IsAbs(p) != abs {
			return ""
		}
		parts := splitDir(p)
		if i == 0 {
			common = parts
			continue
		}
		n := 0
		for n < len(common) && n < len(parts) && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	d := strings.Join(common, "/")
	if abs {
		return "/" + d
	}
	if d == "" {
		return "."
	}
	return d
}

// splitDir lists the directory components of p: /a/b/c.txt → [a b].
func splitDir(p string) []string {
	d := strings.Trim(path.Dir(path.Clean(p)), "/")
	if d == "" || d == "." {
		return nil
	}
	return strings.Split(d, "/")
}

package actions

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/scnlabs/scn/internal/atomicfile"
)

// RunPath is a parameter naming a local file an action writes: a relative
// path under the run directory (.scn/runs/<id>/; scn do: the current
// directory), folders allowed (out/files.json). Decoding refuses an
// absolute path and one whose .. climb out of the directory once cleaned
// — so the checker refuses a literal one at its line before anything runs,
// and a computed one fails its step before the action starts — and
// Env.WriteRunFile refuses one that leaves through a symbolic link.
type RunPath string

// DecodeParam implements ParamDecoder.
func (p *RunPath) DecodeParam(v any) error {
	s, err := TextParam(v, "a relative path under the run directory")
	if err != nil {
		return err
	}
	if err := CheckRunPath(s); err != nil {
		return err
	}
	*p = RunPath(s)
	return nil
}

// ParamSchema implements SchemaProvider: a string that is not absolute
// and does not start by climbing (deeper climbs are the checker's).
func (RunPath) ParamSchema() map[string]any {
	return map[string]any{"type": "string", "not": map[string]any{"pattern": `^/|^\.\.(/|$)`}}
}

// CheckRunPath refuses a path that is not under the directory it is
// resolved in: an absolute one, one that climbs out once cleaned
// (../x, a/../../x), or one naming the directory itself. "" (not given)
// passes.
func CheckRunPath(p string) error {
	if p == "" {
		return nil
	}
	if filepath.IsAbs(p) {
		return fmt.Errorf("%q is an absolute path: give a path relative to the run directory (.scn/runs/<id>/), e.g. %q", p, filepath.Base(p))
	}
	switch c := filepath.Clean(p); {
	case c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)):
		return fmt.Errorf("%q leaves the run directory (.scn/runs/<id>/): give a path under it, without .. climbing out", p)
	case c == ".":
		return fmt.Errorf("%q is the run directory itself: name a file under it", p)
	case !filepath.IsLocal(c):
		return fmt.Errorf("%q is not a path under the run directory", p)
	}
	return nil
}

// WriteRunFile writes data to name under the run directory (Dir; the
// current directory when there is none), creating its folders, and
// replaces the file atomically; it returns the absolute path written. name
// must pass CheckRunPath, and it is opened through os.Root, so a symbolic
// link in the run directory that points out of it is refused too: nothing
// outside the run directory is ever written.
func (e *Env) WriteRunFile(name string, data []byte, perm fs.FileMode) (string, error) {
	if err := CheckRunPath(name); err != nil {
		return "", err
	}
	if name == "" {
		return "", fmt.Errorf("no file name to write under the run directory")
	}
	dir := e.Dir
	if dir == "" {
		dir = "."
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	name = filepath.Clean(name)
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("writing %s under the run directory %s: %w", name, dir, err)
	}
	if sub := filepath.Dir(name); sub != "." {
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return fail(err)
		}
	}
	if err := atomicfile.WriteFileIn(root, name, data, perm); err != nil {
		return fail(err)
	}
	return filepath.Join(dir, name), nil
}
